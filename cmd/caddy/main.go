// Command caddy is a Caddy build with the caddyrooms module plugged in: the
// same program that `xcaddy build --with github.com/caddyrooms/caddyrooms`
// generates.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// plug in Caddy modules here
	_ "github.com/caddyrooms/caddyrooms"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
