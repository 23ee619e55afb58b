package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// A wsClient is one json-protocol connection whose frames a goroutine
// reads and counts by type, so that no connection ever stops reading.
type wsClient struct {
	name string
	ws   *websocket.Conn
	wmu  sync.Mutex
	next int // the next frame id

	mu     sync.Mutex
	counts map[string]int
	err    error // the first error frame or read error
}

// dialClient connects to base (ws://host:port) as a member of room and
// waits for its `joined`.
func dialClient(name, base, room string, timeout time.Duration) (*wsClient, error) {
	d := websocket.Dialer{HandshakeTimeout: timeout}
	ws, _, err := d.Dial(base+"/ws/"+room, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c := &wsClient{name: name, ws: ws, counts: map[string]int{}}
	go c.readLoop()
	if err := c.waitFor("joined", 1, timeout); err != nil {
		ws.Close()
		return nil, err
	}
	return c, nil
}

// readLoop counts every frame by its type until the connection ends.
func (c *wsClient) readLoop() {
	for {
		_, b, err := c.ws.ReadMessage()
		var f struct {
			Type string `json:"type"`
		}
		if err == nil {
			err = json.Unmarshal(b, &f)
		}
		c.mu.Lock()
		switch {
		case err != nil && c.err == nil:
			c.err = err
		case f.Type == "error" && c.err == nil:
			c.err = fmt.Errorf("error frame %s", b)
		}
		c.counts[f.Type]++
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// count returns how many frames of type typ arrived so far.
func (c *wsClient) count(typ string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[typ]
}

// waitFor waits until at least n frames of type typ have arrived in all,
// polling, for at most timeout.
func (c *wsClient) waitFor(typ string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		got, err := c.counts[typ], c.err
		c.mu.Unlock()
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w", c.name, err)
		case got >= n:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("%s: %d %q frames after %s, want %d", c.name, got, typ, timeout, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// send writes one frame of type typ for room, with a fresh id; data, when
// not nil, is its payload.
func (c *wsClient) send(typ, room string, data any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.next++
	f := map[string]any{"type": typ, "room": room, "id": strconv.Itoa(c.next)}
	if data != nil {
		f["data"] = data
	}
	if err := c.ws.WriteJSON(f); err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return nil
}

// close ends the connection.
func (c *wsClient) close() { c.ws.Close() }
