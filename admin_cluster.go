package caddyrooms

import (
	"net/http"
	"sort"

	"github.com/caddyrooms/caddyrooms/broker"
)

// The broker's health in the admin API: GET /rooms-cluster answers, for
// each hub with a broker, its broker.Health, with HTTP 200 while every
// broker is up and 503 while one is down, so that a health check can
// poll it; 404 when no hub has a broker.

const adminClusterPath = "/rooms-cluster"

// clusterHealth is the answer to GET /rooms-cluster.
type clusterHealth struct {
	Up   bool                     `json:"up"`   // every hub's broker is up
	Hubs map[string]broker.Health `json:"hubs"` // by hub name
}

func (adminRooms) serveCluster(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		return adminError(http.StatusMethodNotAllowed, "method %s not allowed here; allowed: GET", r.Method)
	}
	if r.URL.Path != adminClusterPath {
		return adminError(http.StatusNotFound, "no such endpoint: %s", r.URL.Path)
	}
	ans := clusterHealth{Up: true, Hubs: make(map[string]broker.Health)}
	for _, e := range hubEntries() {
		if h, ok := e.brokerHealth(); ok {
			ans.Hubs[e.name] = h
			ans.Up = ans.Up && h.State == "up"
		}
	}
	if len(ans.Hubs) == 0 {
		return adminError(http.StatusNotFound, "no broker: the rooms of this Caddy are its own (no `broker` in the global option rooms)")
	}
	status := http.StatusOK
	if !ans.Up {
		status = http.StatusServiceUnavailable
	}
	return adminJSON(w, status, ans)
}

// hubEntries lists the live hubs, sorted by name.
func hubEntries() []*hubEntry {
	var all []*hubEntry
	hubs.Range(func(_, v any) bool {
		all = append(all, v.(*hubEntry))
		return true
	})
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	return all
}
