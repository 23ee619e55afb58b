package caddyrooms

import (
	"context"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyevents"
	"go.uber.org/zap"

	"github.com/caddyrooms/caddyrooms/hub"
)

// A hub's life, in one place: a handler takes it from the pool in
// Provision (hubRef.acquire), the rooms handler asks to hear when the
// process exits (onStopping), and Cleanup lets go of it (hubRef.release).
// The hub outlives reloads; it is closed, every connection with 1001, when
// the process exits (stoppingHandler) or when the last config using it is
// unloaded (hubEntry.Destruct).

// closeWait bounds how long closing a hub waits for its connections.
const closeWait = 5 * time.Second

// hubRef is a handler's reference to its hub in the pool. The rooms and
// rooms_publish handlers embed it.
type hubRef struct {
	hubName string    // the pool's key: the handler's hub, or DefaultHub
	hub     *hubEntry // nil until acquired
}

// acquire takes the hub called name (DefaultHub when empty) from the pool,
// creating it with the broker of the config's rooms app, and counts one
// more user of it, until release. The app's Start gives the hub that
// broker when it had another.
func (ref *hubRef) acquire(ctx caddy.Context, name string, logger *zap.Logger) error {
	if name == "" {
		name = DefaultHub
	}
	app, err := roomsApp(ctx)
	if err != nil {
		return err
	}
	s := app.settings()
	v, _, err := hubs.LoadOrNew(name, func() (caddy.Destructor, error) {
		hb, c, err := newHubBroker(name, s, app.logger)
		if err != nil {
			return nil, err
		}
		h := hub.New(hub.Options{Logger: logger.Named("hub"), Observer: metrics, Cluster: c})
		return &hubEntry{Hub: h, name: name, broker: hb}, nil
	})
	if err != nil {
		return fmt.Errorf("rooms: hub %q: %w", name, err)
	}
	ref.hubName, ref.hub = name, v.(*hubEntry)
	app.useHub(ref.hub)
	return nil
}

// release lets go of the hub; the last user to let go closes it.
func (ref *hubRef) release() error {
	if ref.hub == nil {
		return nil
	}
	_, err := hubs.Delete(ref.hubName)
	return err
}

// onStopping closes the hub's connections with 1001 when the process
// exits, before Caddy stops its servers (a reload keeps them).
func (ref *hubRef) onStopping(ctx caddy.Context) error {
	app, err := ctx.App("events")
	if err != nil {
		return fmt.Errorf("rooms: loading the events app: %w", err)
	}
	return app.(*caddyevents.App).On("stopping", stoppingHandler{ref.hub})
}

// stoppingHandler closes a hub's connections with 1001 when Caddy emits
// "stopping" because the process exits; on a reload it does nothing.
type stoppingHandler struct {
	hub *hubEntry
}

// Handle closes the hub if the process is exiting.
func (s stoppingHandler) Handle(context.Context, caddy.Event) error {
	if caddy.Exiting() {
		s.hub.Close(hub.CloseGoingAway, "server stopping", closeWait)
	}
	return nil
}

// Destruct closes every connection of the hub with 1001 (going away), then
// its broker: the last config that used it was unloaded.
func (e *hubEntry) Destruct() error {
	e.Close(hub.CloseGoingAway, "server stopping", closeWait)
	e.forgetBroker()
	return nil
}

// Interface guards
var (
	_ caddy.Destructor    = (*hubEntry)(nil)
	_ caddyevents.Handler = stoppingHandler{}
)
