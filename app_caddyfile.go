package caddyrooms

import (
	"errors"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("rooms", parseGlobalOption)
}

// parseGlobalOption makes the rooms app of the global option `rooms`.
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	if existing != nil {
		return nil, d.Err("the global option rooms is given twice")
	}
	var a App
	if err := a.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "rooms", Value: caddyconfig.JSON(a, nil)}, nil
}

// UnmarshalCaddyfile sets up the app from the global option's tokens.
// Syntax:
//
//	{
//		rooms {
//			broker redis <url>
//			node   <name>
//		}
//	}
//
// <url> is redis://[user:password@]host:port/db, rediss://... for TLS, or
// a form for Sentinel and Redis Cluster of the broker package. node
// defaults to a name unique per process. A URL the broker cannot read
// fails here, at its line; the broker connects only when the config runs.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the option's name
	if d.NextArg() {
		return d.ArgErr()
	}
	var nodeTok caddyfile.Token
	for d.NextBlock(0) {
		switch opt := d.Val(); opt {
		case "broker":
			if err := a.unmarshalBroker(d); err != nil {
				return err
			}
		case "node":
			nodeTok = d.Token()
			if err := oneString(d, &a.Node); err != nil {
				return err
			}
			if err := checkNodeName(a.Node); err != nil {
				return d.Errf("node: %v", err)
			}
		default:
			return d.Errf("unrecognized rooms global option %q (want broker or node)", opt)
		}
	}
	if a.Broker == nil && a.Node != "" {
		return errAt(nodeTok, errors.New("node: a node name needs a broker: add `broker redis <url>`"))
	}
	return nil
}

// unmarshalBroker reads `broker redis <url>`.
func (a *App) unmarshalBroker(d *caddyfile.Dispenser) error {
	if a.Broker != nil {
		return d.Err("broker: given twice")
	}
	args := d.RemainingArgs()
	if len(args) != 2 {
		return d.Errf("broker: want `broker redis <url>`, got %d arguments", len(args))
	}
	if args[0] != "redis" {
		return d.Errf("broker: %q is not a broker: the one broker is redis", args[0])
	}
	if !strings.Contains(args[1], "{") { // placeholders are replaced when the config loads
		if err := checkBrokerURL(args[1]); err != nil {
			return d.WrapErr(err)
		}
	}
	a.Broker = &BrokerConfig{Redis: args[1]}
	return nil
}
