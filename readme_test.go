package caddyrooms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// The README's examples, run as written: each is the fenced block after a
// `<!-- readme-test: NAME -->` comment, or every ```caddyfile block.

var readmeFence = regexp.MustCompile("(?s)\n( *)```(\\w*)\n(.*?)\n *```")

// readme is README.md's text.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testcaddy.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readmeBlock is the body of the fenced block right after the marker NAME,
// without the indentation of its fence.
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	text := readme(t)
	marker := "<!-- readme-test: " + name + " -->"
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("README.md has no %s", marker)
	}
	m := readmeFence.FindStringSubmatchIndex(text[i:])
	if m == nil || strings.TrimSpace(text[i+len(marker):i+m[0]]) != "" {
		t.Fatalf("README.md: no code block right after %s", marker)
	}
	indent, body := text[i+m[2]:i+m[3]], text[i+m[6]:i+m[7]]
	return strings.ReplaceAll("\n"+body, "\n"+indent, "\n")[1:]
}

// adaptCaddyfile adapts src to JSON, failing the test on an error or a
// warning other than about formatting.
func adaptCaddyfile(t *testing.T, src string) []byte {
	t.Helper()
	got, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatalf("adapting\n%s\n: %v", src, err)
	}
	for _, w := range warnings {
		// The README aligns comments for reading, which `caddy fmt` would not.
		if !strings.Contains(w.Message, "input is not formatted") {
			t.Fatalf("adapting\n%s\n: warning %v", src, w)
		}
	}
	return got
}

// TestReadmeListModules: `caddy list-modules` lists the modules the README
// names.
func TestReadmeListModules(t *testing.T) {
	out, err := exec.Command(testcaddy.Binary(t), "list-modules").CombinedOutput()
	if err != nil {
		t.Fatalf("caddy list-modules: %v\n%s", err, out)
	}
	lines := strings.Split(string(out), "\n")
	for _, mod := range strings.Fields(readmeBlock(t, "list-modules")) {
		if !contains(lines, mod) {
			t.Errorf("caddy list-modules does not list %s:\n%s", mod, out)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestReadmeCaddyfilesAdapt: every Caddyfile in the README adapts; a
// fragment (a directive, not a site) adapts inside a site. The syntax
// summary, with its <placeholders>, is not a config.
func TestReadmeCaddyfilesAdapt(t *testing.T) {
	n := 0
	for _, m := range readmeFence.FindAllStringSubmatch(readme(t), -1) {
		if m[2] != "caddyfile" || strings.Contains(m[3], "<") {
			continue
		}
		src := m[3]
		first := strings.Fields(src)[0]
		if !strings.ContainsAny(first, ".:{") {
			src = ":8080 {\n" + src + "\n}"
		}
		adaptCaddyfile(t, src)
		n++
	}
	if n < 5 {
		t.Fatalf("adapted %d Caddyfiles from README.md, want every one (at least 5)", n)
	}
}

// TestReadmeJSONConfig: the README's Caddyfile adapts to its JSON, and
// that JSON, loaded into a real Caddy, serves rooms whose joins the
// authorize backend checks with the forwarded Cookie.
func TestReadmeJSONConfig(t *testing.T) {
	want := []byte(readmeBlock(t, "json-config"))
	if got := adaptCaddyfile(t, readmeBlock(t, "json-caddyfile")); !jsonEqual(t, got, want) {
		t.Fatalf("README's Caddyfile adapts to\n%s\nnot the README's JSON\n%s", got, want)
	}

	var mu sync.Mutex
	var asked []string
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Room string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		asked = append(asked, body.Room+" "+r.Header.Get("Cookie"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer auth.Close()

	c := testcaddy.Start(t, ":{PORT} {\n\trespond \"not loaded yet\"\n}")
	cfg := strings.NewReplacer(
		`":8080"`, fmt.Sprintf(`"127.0.0.1:%d"`, c.Port),
		"http://127.0.0.1:3000", auth.URL,
	).Replace(string(want))
	cfg = strings.Replace(cfg, "{", fmt.Sprintf(`{"admin": {"listen": "127.0.0.1:%d"},`, c.AdminPort), 1)
	readmeLoad(t, c, cfg)

	a := wstest.Dial(t, c.URL("ws")+"/ws/lobby", http.Header{"Cookie": {"session=s1"}})
	a.Expect("welcome")
	if f := a.Expect("joined"); f.Str("room") != "lobby" {
		t.Fatalf("joined %v, want lobby", f)
	}
	b := wstest.Join(t, c.URL("ws")+"/ws/lobby", true)
	b.Send(map[string]any{"type": "publish", "room": "lobby", "data": "hi"})
	if m := a.Next(); m.Type() != "message" || m.Str("data") != "hi" { // presence off: no presence first
		t.Fatalf("a got %v", m)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 2 || asked[0] != "lobby session=s1" {
		t.Fatalf("authorize backend was asked %q, want lobby with the cookie, twice", asked)
	}
}

// readmeLoad loads a JSON config through the admin API's /load.
func readmeLoad(t *testing.T, c *testcaddy.Caddy, cfg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.AdminURL()+"/load", strings.NewReader(cfg))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if body, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK {
		t.Fatalf("loading the README's JSON: %s %s\n%s", resp.Status, body, cfg)
	}
}

// TestReadmeReverseProxy: the README's reverse_proxy setup serves the app's
// pages (a plain GET of the socket's path included) and the rooms, and the
// troubleshooting handshake check prints 101.
func TestReadmeReverseProxy(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<h1>the app</h1> %s", r.URL.Path)
	}))
	defer app.Close()
	site := strings.NewReplacer(
		"example.com {", ":{PORT} {",
		"127.0.0.1:3000", strings.TrimPrefix(app.URL, "http://"),
	).Replace(readmeBlock(t, "reverse-proxy"))
	c := testcaddy.Start(t, site)

	for _, path := range []string{"/", "/orders/7", "/ws/lobby"} {
		if body := readmeGet(t, c.URL("http")+path); body != "<h1>the app</h1> "+path {
			t.Errorf("GET %s: %q, want the app's page", path, body)
		}
	}
	a := wstest.Join(t, c.URL("ws")+"/ws/lobby", true)
	b := wstest.Join(t, c.URL("ws")+"/ws/lobby", true)
	a.Expect("presence")
	b.Send(map[string]any{"type": "publish", "room": "lobby", "data": map[string]any{"text": "hi"}})
	for _, cl := range []*wstest.Client{a, b} {
		if m := cl.Expect("message"); m.Num("seq") != 1 {
			t.Errorf("%s got %v", cl, m)
		}
	}

	check := strings.Replace(readmeBlock(t, "handshake"), "http://localhost:8080", c.URL("http"), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "sh", "-c", check).Output() // curl exits 28 on its --max-time
	if got := strings.TrimSpace(string(out)); got != "101" {
		t.Fatalf("the handshake check printed %q, want 101", got)
	}
}

func readmeGet(t *testing.T, url string) string {
	t.Helper()
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = io.Copy(&b, resp.Body)
	return b.String()
}

// TestDashboardMetrics: every metric the Grafana dashboard queries is one
// the README documents (and metrics_test.go checks Caddy serves).
func TestDashboardMetrics(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testcaddy.RepoRoot(), "examples", "grafana", "caddyrooms.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	text, n := readme(t), 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, name := range regexp.MustCompile(`caddy_rooms_\w+`).FindAllString(tg.Expr, -1) {
				n++
				base := "`" + strings.TrimSuffix(name, "_bucket")
				if !strings.Contains(text, base+"`") && !strings.Contains(text, base+"{") {
					t.Errorf("panel %q queries %s, which README.md does not document", p.Title, name)
				}
			}
		}
	}
	if len(d.Panels) < 6 || n < len(d.Panels) {
		t.Fatalf("%d panels querying %d metrics, want at least 6 panels with a query each", len(d.Panels), n)
	}
}

// TestReadmeLinks: every #anchor link in the README names a heading (as
// GitHub makes anchors: lower case, punctuation dropped, spaces to dashes),
// and every linked file exists.
func TestReadmeLinks(t *testing.T) {
	text := readme(t)
	anchors := map[string]bool{}
	drop := regexp.MustCompile("[^a-z0-9 _-]")
	for _, m := range regexp.MustCompile(`(?m)^#+ (.*)$`).FindAllStringSubmatch(text, -1) {
		anchors[strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(m[1]), ""), " ", "-")] = true
	}
	for _, m := range regexp.MustCompile(`\]\(([^)\s]+)\)`).FindAllStringSubmatch(text, -1) {
		target := m[1]
		switch {
		case strings.HasPrefix(target, "#"):
			if !anchors[target[1:]] {
				t.Errorf("link %s names no heading", target)
			}
		case !strings.Contains(target, "://"):
			if _, err := os.Stat(filepath.Join(testcaddy.RepoRoot(), target)); err != nil {
				t.Errorf("link %s: %v", target, err)
			}
		}
	}
}
