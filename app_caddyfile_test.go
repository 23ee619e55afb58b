package caddyrooms_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
)

// TestGlobalOptionJSON: the global option rooms adapts to the app "rooms".
func TestGlobalOptionJSON(t *testing.T) {
	cases := []struct {
		block string
		want  string
	}{
		{"broker redis redis://127.0.0.1:6379/2", `"rooms":{"broker":{"redis":"redis://127.0.0.1:6379/2"}}`},
		{"broker redis rediss://u:p@redis.example:6380/0\n\t\tnode eu-1",
			`"rooms":{"broker":{"redis":"rediss://u:p@redis.example:6380/0"},"node":"eu-1"}`},
		{"broker redis {env.REDIS_URL}", `"rooms":{"broker":{"redis":"{env.REDIS_URL}"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.block, func(t *testing.T) {
			src := "{\n\trooms {\n\t\t" + tc.block + "\n\t}\n}\n:80 {\n\trooms\n}\n"
			got, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(got), tc.want) {
				t.Fatalf("%s\nhas no %s", got, tc.want)
			}
		})
	}
}

// TestValidateGlobalOption: `caddy validate` passes a good broker without
// reaching it (nothing listens at its address) and fails a bad one with
// the line and the reason; a JSON config's bad URL fails too.
func TestValidateGlobalOption(t *testing.T) {
	bin := testcaddy.Binary(t)
	closed := testcaddy.FreePort(t)
	cases := []struct {
		name, block, json string
		reason, line      string // reason "" passes
	}{
		{name: "good", block: "broker redis redis://127.0.0.1:" + strconv.Itoa(closed) + "/0\n\t\tnode n1"},
		{name: "scheme", block: "broker redis http://127.0.0.1:6379", reason: `broker redis "http://127.0.0.1:6379"`, line: "Caddyfile:4"},
		{name: "kind", block: "broker memcached redis://127.0.0.1", reason: `"memcached" is not a broker`, line: "Caddyfile:4"},
		{name: "no url", block: "broker redis", reason: "want `broker redis <url>`", line: "Caddyfile:4"},
		{name: "unknown", block: "colour blue", reason: `unrecognized rooms global option "colour"`, line: "Caddyfile:4"},
		{name: "node space", block: "broker redis redis://127.0.0.1\n\t\tnode \"a b\"", reason: "has a space", line: "Caddyfile:5"},
		{name: "node alone", block: "node n1", reason: "a node name needs a broker", line: "Caddyfile:4"},
		{name: "json", json: `{"admin":{"disabled":true},"apps":{"rooms":{"broker":{"redis":"http://127.0.0.1:6379"}}}}`,
			reason: `broker redis "http://127.0.0.1:6379"`},
		{name: "json node", json: `{"admin":{"disabled":true},"apps":{"rooms":{"node":"n1"}}}`, reason: "a node name needs a broker"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file, args := filepath.Join(t.TempDir(), "Caddyfile"), []string{"--adapter", "caddyfile"}
			src := "{\n\tadmin off\n\trooms {\n\t\t" + tc.block + "\n\t}\n}\n:0 {\n\trooms\n}\n"
			if tc.json != "" {
				file, args, src = filepath.Join(t.TempDir(), "caddy.json"), nil, tc.json
			}
			if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			raw, err := exec.CommandContext(ctx, bin, append([]string{"validate", "--config", file}, args...)...).CombinedOutput()
			out := strings.ReplaceAll(string(raw), `\"`, `"`) // the log is JSON
			switch {
			case ctx.Err() != nil:
				t.Fatalf("caddy validate did not finish within a minute:\n%s", out)
			case tc.reason == "" && err != nil:
				t.Fatalf("validate failed: %v\n%s", err, out)
			case tc.reason == "":
			case err == nil:
				t.Fatalf("validate passed:\n%s", out)
			case !strings.Contains(out, tc.reason) || !strings.Contains(out, tc.line):
				t.Fatalf("output lacks %q at %q:\n%s", tc.reason, tc.line, out)
			}
		})
	}
}
