package caddyrooms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddyrooms/caddyrooms/hub"
)

// Authorize is the join callback: before a connection joins a room (the
// route's room included), the server asks the application's backend, as
// Nchan's authorize_request or Pusher's channel auth do.
//
// The backend gets a POST with the JSON body
// `{"room":"...","client":"<connection id>","user":"<identity>","remote_addr":"..."}`
// and the forwarded headers of the WebSocket handshake. A 2xx answer allows
// the join; a 5xx answer, no answer within Timeout, or a backend that cannot
// be reached refuses it with the error `authorization_failed` and a warning
// in the log (fail closed); any other answer refuses it with `forbidden`.
type Authorize struct {
	// URL is the backend's endpoint, e.g. `http://127.0.0.1:3000/rooms/auth`.
	// Global placeholders such as `{env.AUTH_URL}` are replaced when the
	// config loads. Required.
	URL string `json:"url"`

	// Timeout bounds one call to the backend, connecting included. Default: 5s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// Cache keeps each answer of the backend (allowed or forbidden, never a
	// failure) for this long, for the same room, user and forwarded header
	// values, so that rejoining or reconnecting does not ask again.
	// Default: 0, every join asks.
	Cache caddy.Duration `json:"cache,omitempty"`

	// Headers names the handshake's request headers forwarded to the
	// backend, such as the session cookie. Default: `Cookie` and
	// `Authorization`.
	Headers []string `json:"headers,omitempty"`
}

// DefaultAuthorizeTimeout is Authorize.Timeout's default.
const DefaultAuthorizeTimeout = 5 * time.Second

// maxCachedAnswers bounds the callback's cache; when it is full, expired
// answers go first, then all of them.
const maxCachedAnswers = 10000

// callback calls the backend of an Authorize.
type callback struct {
	url     string
	timeout time.Duration
	ttl     time.Duration
	headers []string // canonical names
	client  *http.Client
	logger  *zap.Logger

	mu    sync.Mutex
	cache map[string]answer
}

// answer is a cached answer of the backend.
type answer struct {
	err   error // nil: allowed
	until time.Time
}

// checked checks a's settings and returns the backend's URL with its
// global placeholders replaced.
func (a *Authorize) checked() (string, error) {
	raw := caddy.NewReplacer().ReplaceKnown(a.URL, "")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("rooms: authorize: %q is not an http:// or https:// URL", a.URL)
	}
	if a.Timeout < 0 || a.Cache < 0 {
		return "", errors.New("rooms: authorize: durations must not be negative")
	}
	return raw, nil
}

// newCallback checks a's settings and builds its client.
func newCallback(a *Authorize, logger *zap.Logger) (*callback, error) {
	raw, err := a.checked()
	if err != nil {
		return nil, err
	}
	cb := &callback{
		url:     raw,
		timeout: time.Duration(a.Timeout),
		ttl:     time.Duration(a.Cache),
		logger:  logger,
		cache:   make(map[string]answer),
	}
	if cb.timeout == 0 {
		cb.timeout = DefaultAuthorizeTimeout
	}
	names := a.Headers
	if names == nil {
		names = []string{"Cookie", "Authorization"}
	}
	for _, n := range names {
		cb.headers = append(cb.headers, http.CanonicalHeaderKey(n))
	}
	cb.client = &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		},
		// a redirect is an answer (often "log in first"), not to be followed
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return cb, nil
}

// allowJoin asks the backend, or the cache, whether c may join room.
func (cb *callback) allowJoin(c *hub.Client, room string, ca *connAuth) error {
	key := cb.cacheKey(c, room, ca)
	if cb.ttl > 0 {
		if a, ok := cb.cached(key); ok {
			return a.err
		}
	}
	final, err := cb.ask(c, room, ca)
	if final && cb.ttl > 0 {
		cb.store(key, err)
	}
	return err
}

// ask makes one call; err refuses the join. final is false when the
// backend failed rather than answered, so that the failure is not cached.
func (cb *callback) ask(c *hub.Client, room string, ca *connAuth) (final bool, err error) {
	body, _ := json.Marshal(struct {
		Room       string `json:"room"`
		Client     string `json:"client"`
		User       string `json:"user,omitempty"`
		RemoteAddr string `json:"remote_addr,omitempty"`
	}{room, c.ID, c.User, c.RemoteAddr})
	ctx, cancel := context.WithTimeout(context.Background(), cb.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cb.url, bytes.NewReader(body))
	if err != nil {
		return false, cb.failed(c, room, err)
	}
	for name, v := range ca.headers {
		req.Header[name] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "caddyrooms")
	start := time.Now()
	resp, err := cb.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s", cb.timeout)
		}
		return false, cb.failed(c, room, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		cb.logger.Debug("authorization backend allowed a join", zap.String("room", room), zap.String("client", c.ID),
			zap.String("user", c.User), zap.Duration("took", time.Since(start)))
		return true, nil
	case resp.StatusCode >= 500:
		return false, cb.failed(c, room, fmt.Errorf("the backend answered %s", resp.Status))
	default:
		cb.logger.Debug("authorization backend refused a join", zap.String("room", room), zap.String("client", c.ID),
			zap.String("user", c.User), zap.Int("status", resp.StatusCode))
		return true, &hub.Error{Code: hub.CodeForbidden, Message: "not allowed to join " + quoteRoom(room)}
	}
}

// failed logs a backend failure and builds the client's error.
func (cb *callback) failed(c *hub.Client, room string, err error) error {
	cb.logger.Warn("authorization backend failed; join refused",
		zap.String("url", cb.url), zap.String("room", room), zap.String("client", c.ID),
		zap.String("user", c.User), zap.Error(err))
	return &hub.Error{Code: hub.CodeAuthFailed, Message: "could not check permission to join " + quoteRoom(room) + "; try again later"}
}

// cacheKey keys an answer by room, user and forwarded header values.
func (cb *callback) cacheKey(c *hub.Client, room string, ca *connAuth) string {
	var b strings.Builder
	b.WriteString(room)
	b.WriteByte(0)
	b.WriteString(c.User)
	for _, name := range cb.headers {
		for _, v := range ca.headers[name] {
			b.WriteByte(0)
			b.WriteString(v)
		}
		b.WriteByte(1)
	}
	return b.String()
}

// cached is the backend's answer for key, while it is fresh.
func (cb *callback) cached(key string) (answer, bool) {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	a, ok := cb.cache[key]
	if ok && time.Now().After(a.until) {
		delete(cb.cache, key)
		return answer{}, false
	}
	return a, ok
}

// store keeps the backend's answer err for key for the cache's ttl.
func (cb *callback) store(key string, err error) {
	now := time.Now()
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if len(cb.cache) >= maxCachedAnswers {
		for k, a := range cb.cache {
			if now.After(a.until) {
				delete(cb.cache, k)
			}
		}
		if len(cb.cache) >= maxCachedAnswers {
			clear(cb.cache)
		}
	}
	cb.cache[key] = answer{err: err, until: now.Add(cb.ttl)}
}

// close lets go of the callback's idle connections.
func (cb *callback) close() {
	cb.client.CloseIdleConnections()
}
