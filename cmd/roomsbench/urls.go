package main

import (
	"fmt"
	"strings"
)

// parseURLs reads -url: one base URL, or several separated by commas (the
// nodes of a cluster that share the rooms). Each is ws:// or wss:// with a
// host and port; a trailing slash is dropped.
func parseURLs(s string) ([]string, error) {
	var urls []string
	for _, u := range strings.Split(s, ",") {
		u = strings.TrimRight(strings.TrimSpace(u), "/")
		if !strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://") {
			return nil, fmt.Errorf("-url %q: want ws://HOST:PORT, or several separated by commas", u)
		}
		urls = append(urls, u)
	}
	return urls, nil
}

// clientURL returns the base URL client cl connects to. With several URLs,
// the members of each room alternate between them (by their rank in the
// room) and the rooms' first members (their publishers) alternate too, so
// every room has members on every node and the publishers are spread.
func (cfg *config) clientURL(cl *client) string {
	n := len(cfg.urls)
	if n <= 1 {
		return cfg.baseURL
	}
	return cfg.urls[(cl.index/cfg.rooms+cl.room)%n]
}
