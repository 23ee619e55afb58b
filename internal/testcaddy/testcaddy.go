// Package testcaddy runs a real Caddy with the rooms module for end-to-end
// tests: the binary built from ./cmd/caddy, on free loopback ports, with
// bounded waits, stopped when the test ends.
package testcaddy

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the path of a Caddy built from ./cmd/caddy: $CADDY_BIN when
// set, else a build into a temporary folder, once per test process.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("CADDY_BIN"); p != "" {
			binPath, buildErr = filepath.Abs(p)
			return
		}
		dir, err := os.MkdirTemp("", "caddyrooms-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "caddy")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/caddy")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building caddy: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// RepoRoot is the repository's top folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Caddy is a running Caddy process.
type Caddy struct {
	t         testing.TB
	Bin       string
	Port      int // the site's port ({PORT} in the config)
	AdminPort int // the admin endpoint's port ({ADMIN} in the config)
	Dir       string
	cmd       *exec.Cmd
	log       *bytes.Buffer
	logMu     sync.Mutex
	exited    chan struct{}
	exitErr   error
}

// Start runs Caddy with caddyfile, in which {PORT} and {ADMIN} stand for
// the chosen free ports. When caddyfile has no global options block, one
// with the admin address is added. The process is stopped at cleanup.
func Start(t testing.TB, caddyfile string) *Caddy {
	t.Helper()
	c := &Caddy{t: t, Bin: Binary(t), Port: FreePort(t), AdminPort: FreePort(t), Dir: t.TempDir()}
	c.write(caddyfile)
	c.start()
	t.Cleanup(func() {
		c.Kill()
		c.checkLog()
	})
	return c
}

// checkLog fails the test when Caddy reported a data race (a binary built
// with -race) or a panic.
func (c *Caddy) checkLog() {
	log := c.Log()
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:"} {
		if strings.Contains(log, bad) {
			c.t.Errorf("caddy printed %q:\n%s", bad, log)
			return
		}
	}
}

// Config expands the placeholders of caddyfile for this instance.
func (c *Caddy) Config(caddyfile string) string {
	if !strings.HasPrefix(strings.TrimSpace(caddyfile), "{") {
		caddyfile = "{\n\tadmin 127.0.0.1:{ADMIN}\n\tauto_https off\n}\n" + caddyfile
	}
	r := strings.NewReplacer("{PORT}", fmt.Sprint(c.Port), "{ADMIN}", fmt.Sprint(c.AdminPort))
	return r.Replace(caddyfile)
}

func (c *Caddy) path() string { return filepath.Join(c.Dir, "Caddyfile") }

func (c *Caddy) write(caddyfile string) {
	if err := os.WriteFile(c.path(), []byte(c.Config(caddyfile)), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Caddy) start() {
	c.log = new(bytes.Buffer)
	c.exited = make(chan struct{})
	c.cmd = exec.Command(c.Bin, "run", "--config", c.path(), "--adapter", "caddyfile")
	c.cmd.Dir = RepoRoot()
	c.cmd.Stdout = lockedWriter{c}
	c.cmd.Stderr = lockedWriter{c}
	c.cmd.Env = append(os.Environ(), "HOME="+c.Dir, "XDG_DATA_HOME="+c.Dir, "XDG_CONFIG_HOME="+c.Dir)
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() { c.exitErr = c.cmd.Wait(); close(c.exited) }()
	c.waitReady()
}

type lockedWriter struct{ c *Caddy }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.c.logMu.Lock()
	defer w.c.logMu.Unlock()
	return w.c.log.Write(p)
}

// Log is what Caddy has printed so far.
func (c *Caddy) Log() string {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	return c.log.String()
}

// waitReady waits, at most 20 s, until the site's port accepts.
func (c *Caddy) waitReady() {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			c.t.Fatalf("caddy exited before it was ready: %v\n%s", c.exitErr, c.Log())
		default:
		}
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.Port), 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("caddy did not listen on %d within 20s\n%s", c.Port, c.Log())
}

// URL is the site's base URL with scheme ("ws" or "http").
func (c *Caddy) URL(scheme string) string {
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, c.Port)
}

// AdminURL is the admin endpoint's base URL.
func (c *Caddy) AdminURL() string { return fmt.Sprintf("http://127.0.0.1:%d", c.AdminPort) }

// Reload loads caddyfile into the running Caddy through `caddy reload`.
func (c *Caddy) Reload(caddyfile string) {
	c.t.Helper()
	c.write(caddyfile)
	cmd := exec.Command(c.Bin, "reload", "--config", c.path(), "--adapter", "caddyfile", "--address", fmt.Sprintf("127.0.0.1:%d", c.AdminPort))
	cmd.Dir = RepoRoot()
	if out, err := runBounded(cmd, 20*time.Second); err != nil {
		c.t.Fatalf("caddy reload: %v\n%s\n%s", err, out, c.Log())
	}
}

// Stop runs `caddy stop` against the admin endpoint and waits, at most
// 15 s, for the process to exit.
func (c *Caddy) Stop() {
	c.t.Helper()
	c.StopAsync()()
}

// StopAsync starts `caddy stop` and returns at once, so that the test can
// read its clients meanwhile. The returned wait, to be called on the test
// goroutine, fails the test unless the stop succeeded and the process
// exited within 15 s.
func (c *Caddy) StopAsync() (wait func()) {
	res := make(chan error, 1)
	go func() {
		cmd := exec.Command(c.Bin, "stop", "--address", fmt.Sprintf("127.0.0.1:%d", c.AdminPort))
		out, err := runBounded(cmd, 15*time.Second)
		if err != nil {
			err = fmt.Errorf("caddy stop: %v\n%s", err, out)
		}
		res <- err
	}()
	return func() {
		c.t.Helper()
		if err := <-res; err != nil { // runBounded returns within 15 s
			c.t.Fatal(err)
		}
		c.WaitExit()
	}
}

// Signal sends sig to the process.
func (c *Caddy) Signal(sig os.Signal) {
	c.t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		c.t.Fatalf("signal %v: %v", sig, err)
	}
}

// WaitExit fails the test unless the process exits within 15 s.
func (c *Caddy) WaitExit() {
	c.t.Helper()
	select {
	case <-c.exited:
	case <-time.After(15 * time.Second):
		c.t.Fatalf("caddy did not exit within 15s\n%s", c.Log())
	}
}

// Restart kills the process and starts it again with the same config and
// ports.
func (c *Caddy) Restart() {
	c.Kill()
	c.start()
}

// Kill ends the process if it still runs.
func (c *Caddy) Kill() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
	}
}

// Exited reports whether the process has ended.
func (c *Caddy) Exited() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// PID is the process id.
func (c *Caddy) PID() int { return c.cmd.Process.Pid }

func runBounded(cmd *exec.Cmd, limit time.Duration) ([]byte, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.Bytes(), err
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		return out.Bytes(), fmt.Errorf("%s did not finish within %s", cmd.Path, limit)
	}
}

// Get performs an HTTP GET with a 10 s timeout.
func Get(url string) (*http.Response, error) {
	cl := http.Client{Timeout: 10 * time.Second}
	return cl.Get(url)
}
