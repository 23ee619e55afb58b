package caddyrooms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddyrooms/caddyrooms"
	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
)

// TestAdaptExample: the example Caddyfile adapts to the JSON beside it.
func TestAdaptExample(t *testing.T) {
	dir := filepath.Join(testcaddy.RepoRoot(), "examples", "basic")
	src, err := os.ReadFile(filepath.Join(dir, "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "caddy.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(src, map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Fatalf("warnings: %v", warnings)
	}
	if !jsonEqual(t, got, want) {
		t.Fatalf("adapted:\n%s\nwant (examples/basic/caddy.json):\n%s", got, want)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

// TestCaddyfileOptions: each option lands in the handler's JSON.
func TestCaddyfileOptions(t *testing.T) {
	cases := []struct {
		option string
		want   string // a fragment of the handler's JSON
	}{
		{"room {path.1}", `"room":"{http.request.uri.path.1}"`},
		{"protocol raw\n room r", `"protocol":"raw"`},
		{"user {http.auth.user.id}", `"user":"{http.auth.user.id}"`},
		{"hub chat", `"hub":"chat"`},
		{"origins https://a.example https://b.example", `"origins":["https://a.example","https://b.example"]`},
		{"max_message_size 1MiB", `"max_message_size":1048576`},
		{"max_message_size 2kb", `"max_message_size":2000`},
		{"max_rooms 3", `"max_rooms":3`},
		{"max_members 0", `"handler":"rooms"`},
		{"max_members 50", `"max_members":50`},
		{"rate_limit 2.5", `"rate_limit":2.5`},
		{"rate_limit 10 30", `"rate_burst":30`},
		{"send_queue 1MiB", `"send_queue":1048576`},
		{"send_queue 64KiB", `"send_queue":65536`},
		{"slow_client drop_oldest", `"slow_client":"drop_oldest"`},
		{"write_timeout 3s", `"write_timeout":3000000000`},
		{"ping_interval 1m", `"ping_interval":60000000000`},
		{"pong_timeout 500ms", `"pong_timeout":500000000`},
		{"presence off", `"presence":false`},
		{"max_errors -1", `"max_errors":-1`},
		{"history 20", `"history_size":20`},
		{"history 20 90s", `"history_ttl":90000000000`},
		{"history off", `"history_size":-1`},
		{"presence_list 500", `"presence_list":500`},
		{"presence_interval 250ms", `"presence_interval":250000000`},
	}
	for _, tc := range cases {
		t.Run(tc.option, func(t *testing.T) {
			src := ":80 {\n\trooms {\n\t\t" + tc.option + "\n\t}\n}\n"
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

// TestValidateBadCaddyfile: `caddy validate` fails with the line and the
// reason for every bad option.
func TestValidateBadCaddyfile(t *testing.T) {
	bin := testcaddy.Binary(t)
	cases := []struct {
		option    string
		reason    string
		directive string // rooms unless set
	}{
		{"protocol xml", `"xml" is not one of [json raw]`, ""},
		{"slow_client wait", `"wait" is not one of [disconnect drop_oldest]`, ""},
		{"max_message_size huge", `"huge" is not a size`, ""},
		{"max_rooms 0", `"0" is not a whole number of at least 1`, ""},
		{"max_members -3", `"-3" is not a whole number of at least 0`, ""},
		{"send_queue lots", `"lots" is not a size such as 1MiB`, ""},
		{"send_queue 256", `"256" has no unit: send_queue is a size in bytes`, ""},
		{"send_queue 1KiB", "send_queue 1024 B is too small: at least 4 KiB", ""},
		{"rate_limit fast", `"fast" is not a positive number`, ""},
		{"rate_limit 5 -1", `burst "-1" is not a positive whole number`, ""},
		{"ping_interval soon", `"soon" is not a positive duration`, ""},
		{"pong_timeout 0s", `"0s" is not a positive duration`, ""},
		{"presence maybe", `"maybe" is not one of [on off]`, ""},
		{"history some", `history: "some" is not off nor a whole number`, ""},
		{"history 0", `history: "0" is not off nor a whole number`, ""},
		{"history 10 later", `history: "later" is not a positive duration`, ""},
		{"history", "wrong argument count", ""},
		{"presence_list 0", `"0" is not a whole number of at least 1`, ""},
		{"presence_interval never", `"never" is not a positive duration`, ""},
		{"origins", "wrong argument count", ""},
		{"room a b", "wrong argument count", ""},
		{"colour blue", `unrecognized rooms option "colour"`, ""},
		{"protocol raw", "protocol raw needs a room", ""},
		{"max_message_size 16", "too small", ""},
		{"allow_join a{b", "unclosed {", ""},
		{"authorize ftp://auth.example", "is not an http:// or https:// URL", ""},
		{"hub chat", "a room is required", "rooms_publish"},
	}
	for _, tc := range cases {
		t.Run(tc.option, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "Caddyfile")
			directive, line := "rooms", "Caddyfile:6" // where the option is
			if tc.directive != "" {
				directive, line = tc.directive, "Caddyfile:5" // the directive's own error
			}
			src := "{\n\tadmin off\n}\n:0 {\n\t" + directive + " {\n\t\t" + tc.option + "\n\t}\n}\n"
			if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			raw, err := exec.CommandContext(ctx, bin, "validate", "--config", file, "--adapter", "caddyfile").CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("caddy validate did not finish within a minute:\n%s", raw)
			}
			out := strings.ReplaceAll(string(raw), `\"`, `"`) // the log is JSON
			if err == nil {
				t.Fatalf("validate passed:\n%s", out)
			}
			if !strings.Contains(out, tc.reason) {
				t.Fatalf("output lacks %q:\n%s", tc.reason, out)
			}
			if !strings.Contains(out, line) {
				t.Fatalf("output lacks the line %s:\n%s", line, out)
			}
		})
	}
}
