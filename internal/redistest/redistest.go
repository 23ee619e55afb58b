// Package redistest runs real redis-server processes for tests: on free
// loopback ports, in the test's temporary folder, with nothing saved, each
// stopped by its PID when the test ends. Under CI=true a missing
// redis-server fails the test instead of skipping it.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is one redis-server process started by a test.
type Server struct {
	t     testing.TB
	Port  int    // its loopback port
	Addr  string // host:port
	dir   string
	extra []string
	cmd   *exec.Cmd
}

// need returns the path of the program called name, or ends the test: a
// skip, or under CI=true a failure.
func need(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found: %v", name, err)
	}
	t.Skipf("%s not found: %v", name, err)
	return ""
}

// FreePort returns a loopback TCP port nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs a redis-server on a free loopback port, with extra arguments
// appended to its command line, and stops it when the test ends.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	need(t, "redis-server")
	port := FreePort(t)
	s := &Server{t: t, Port: port, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: t.TempDir(), extra: extra}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr }

// Restart starts the server again, empty, on the same port; it must be
// stopped.
func (s *Server) Restart() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatalf("redis-server on %d still running", s.Port)
	}
	args := append([]string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", s.dir, "--logfile", filepath.Join(s.dir, "redis.log")}, s.extra...)
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redis-server: %v", err)
	}
	s.cmd = cmd
	s.waitReady()
}

// waitReady waits, at most 10 s, until the server answers PING.
func (s *Server) waitReady() {
	s.t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.t.Fatalf("redis-server on %d not ready: %v\n%s", s.Port, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server by its PID and waits for it to end; it may be
// called more than once.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// StartCluster runs n redis-server processes with cluster mode on and
// joins them with `redis-cli --cluster create` into a cluster of n masters;
// it returns them once every slot is served.
func StartCluster(t testing.TB, n int) []*Server {
	t.Helper()
	need(t, "redis-cli")
	servers := make([]*Server, n)
	addrs := make([]string, n)
	for i := range servers {
		servers[i] = Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000")
		addrs[i] = servers[i].Addr
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	out, err := exec.Command("redis-cli", append(args, "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	waitClusterOK(t, servers)
	return servers
}

// waitClusterOK waits, at most 15 s, until every server says cluster_state:ok.
func waitClusterOK(t testing.TB, servers []*Server) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for _, s := range servers {
		for {
			out, err := exec.Command("redis-cli", "-p", strconv.Itoa(s.Port), "cluster", "info").Output()
			if err == nil && strings.Contains(string(out), "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster on %d not ok: %v %s", s.Port, err, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// ClusterURL is the redis+cluster:// URL of a cluster's servers.
func ClusterURL(servers []*Server) string {
	u := "redis+cluster://" + servers[0].Addr
	for i, s := range servers[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += fmt.Sprintf("%saddr=%s", sep, s.Addr)
	}
	return u
}
