package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestParseURLs checks -url's one-or-several forms and its errors.
func TestParseURLs(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
		ok   bool
	}{
		{"ws://127.0.0.1:8080/", []string{"ws://127.0.0.1:8080"}, true},
		{"ws://a:1,wss://b:2/", []string{"ws://a:1", "wss://b:2"}, true},
		{" ws://a:1 , ws://b:2 ", []string{"ws://a:1", "ws://b:2"}, true},
		{"http://a:1", nil, false},
		{"ws://a:1,", nil, false},
	} {
		got, err := parseURLs(tt.in)
		if (err == nil) != tt.ok || strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("parseURLs(%q) = %q, %v; want %q (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestClientURLSplitsEveryRoom checks that with two URLs every room has
// half its members on each, and the rooms' publishers alternate.
func TestClientURLSplitsEveryRoom(t *testing.T) {
	cfg, err := parseFlags([]string{"-url", "ws://a:1,ws://b:2", "-clients", "40", "-rooms", "4"})
	if err != nil {
		t.Fatal(err)
	}
	perRoom := map[int]map[string]int{}
	for i := 0; i < cfg.clients; i++ {
		cl := &client{index: i, room: i % cfg.rooms}
		if perRoom[cl.room] == nil {
			perRoom[cl.room] = map[string]int{}
		}
		perRoom[cl.room][cfg.clientURL(cl)]++
	}
	for r := 0; r < cfg.rooms; r++ {
		if perRoom[r]["ws://a:1"] != 5 || perRoom[r]["ws://b:2"] != 5 {
			t.Errorf("room %d: %v, want 5 members on each URL", r, perRoom[r])
		}
		publisher := cfg.clientURL(&client{index: r, room: r})
		if want := cfg.urls[r%2]; publisher != want {
			t.Errorf("room %d's publisher connects to %s, want %s", r, publisher, want)
		}
	}
}

// countConns counts the requests that reach a handler.
type countConns struct {
	n    atomic.Int64
	next http.Handler
}

func (c *countConns) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	c.next.ServeHTTP(w, r)
}

// TestRunLoadOverTwoURLs runs the load client against two listeners of one
// fake server (two nodes sharing the rooms): the clients split half and
// half, and every delivery arrives.
func TestRunLoadOverTwoURLs(t *testing.T) {
	rooms := &fakeRooms{members: map[string]map[*fakeMember]bool{}, seq: map[string]int{}}
	a, b := &countConns{next: rooms}, &countConns{next: rooms}
	srvA, srvB := httptest.NewServer(a), httptest.NewServer(b)
	defer srvA.Close()
	defer srvB.Close()
	urls := "ws" + strings.TrimPrefix(srvA.URL, "http") + ",ws" + strings.TrimPrefix(srvB.URL, "http")
	cfg, err := parseFlags([]string{
		"-target", "json", "-url", urls, "-clients", "40", "-rooms", "4", "-rate", "100",
		"-warmup", "200ms", "-duration", "500ms", "-q",
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := runLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a.n.Load() != 20 || b.n.Load() != 20 {
		t.Errorf("connections: %d and %d, want 20 and 20", a.n.Load(), b.n.Load())
	}
	if res.Published == 0 || res.Lost != 0 || res.Delivered != res.Published*10 {
		t.Errorf("published %d, delivered %d, lost %d, first error %q", res.Published, res.Delivered, res.Lost, res.FirstError)
	}
}
