package caddyrooms

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddyrooms/caddyrooms/hub"
)

func init() {
	caddy.RegisterModule(adminRooms{})
}

// adminRooms is the admin API module admin.api.rooms: it lists and
// inspects rooms, publishes into them, disconnects clients and empties
// rooms. It holds no state: every request looks its hub up in the pool, so
// the endpoints keep working across reloads.
//
// The hub `default` is served at /rooms/; a hub named X (the `hub` option)
// at /rooms/@X/.
type adminRooms struct{}

// CaddyModule returns the Caddy module information.
func (adminRooms) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.rooms",
		New: func() caddy.Module { return new(adminRooms) },
	}
}

// Routes returns the admin route under which adminRoutes are served, and
// the broker's health (admin_cluster.go).
func (a adminRooms) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: adminPrefix, Handler: caddy.AdminHandlerFunc(a.serveHTTP)},
		{Pattern: adminClusterPath, Handler: caddy.AdminHandlerFunc(a.serveCluster)},
	}
}

const adminPrefix = "/rooms/"

// adminRoute is one endpoint: a method and the path after /rooms/ (or
// /rooms/@hub/), in which {room} and {client} each stand for one
// path-escaped segment.
type adminRoute struct {
	method string
	path   string
	handle func(w http.ResponseWriter, r *http.Request, e *hubEntry, args adminArgs) error
}

// adminRoutes is the whole admin API.
var adminRoutes = []adminRoute{
	{http.MethodGet, "", listRooms},                            // ?prefix= &after= &limit=
	{http.MethodGet, "{room}", showRoom},                       // the room and its clients
	{http.MethodDelete, "{room}", emptyRoom},                   // every member leaves; 204
	{http.MethodPost, "{room}/messages", publishToRoom},        // body: the JSON data; Idempotency-Key
	{http.MethodGet, "{room}/messages", roomMessages},          // ?since= &limit=: the room's history
	{http.MethodDelete, "{room}/clients/{client}", kickClient}, // disconnect with 4000 (?reconnect=true: 1008); 204
}

// adminArgs are the path's unescaped {room} and {client}.
type adminArgs struct {
	hub, room, client string
}

func (adminRooms) serveHTTP(w http.ResponseWriter, r *http.Request) error {
	hubName, segs, err := splitAdminPath(r.URL.EscapedPath())
	if err != nil {
		return adminError(http.StatusBadRequest, "%v", err)
	}
	var allowed []string
	for _, rt := range adminRoutes {
		args, ok := matchAdminPath(rt.path, segs)
		if !ok {
			continue
		}
		if r.Method != rt.method {
			allowed = append(allowed, rt.method)
			continue
		}
		args.hub = hubName
		e := lookupHub(hubName)
		if e == nil && hubName != DefaultHub {
			return adminError(http.StatusNotFound, "no hub %q: no loaded route uses it", hubName)
		}
		return rt.handle(w, r, e, args)
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		return adminError(http.StatusMethodNotAllowed, "method %s not allowed here; allowed: %s", r.Method, strings.Join(allowed, ", "))
	}
	return adminError(http.StatusNotFound, "no such endpoint: %s", r.URL.Path)
}

// splitAdminPath splits an escaped request path into its hub (from a first
// segment @name) and the escaped segments after it. A room whose name
// starts with @ is written %40 in the path.
func splitAdminPath(escaped string) (hubName string, segs []string, err error) {
	rest := strings.TrimPrefix(escaped, adminPrefix)
	hubName = DefaultHub
	if strings.HasPrefix(rest, "@") {
		first, after, _ := strings.Cut(rest[1:], "/")
		if hubName, err = url.PathUnescape(first); err != nil || hubName == "" {
			return "", nil, fmt.Errorf("bad hub name in path %q", escaped)
		}
		rest = after
	}
	if rest == "" {
		return hubName, nil, nil
	}
	return hubName, strings.Split(rest, "/"), nil
}

// matchAdminPath matches escaped segments against a route's path.
func matchAdminPath(pattern string, segs []string) (adminArgs, bool) {
	var args adminArgs
	var pat []string
	if pattern != "" {
		pat = strings.Split(pattern, "/")
	}
	if len(pat) != len(segs) {
		return args, false
	}
	for i, p := range pat {
		switch p {
		case "{room}", "{client}":
			v, err := url.PathUnescape(segs[i])
			if err != nil {
				return args, false
			}
			if p == "{room}" {
				args.room = v
			} else {
				args.client = v
			}
		default:
			if segs[i] != p {
				return args, false
			}
		}
	}
	return args, true
}

// roomList is the answer to GET /rooms/. Next, when set, is the `after`
// that fetches the next page.
type roomList struct {
	Rooms []hub.RoomSummary `json:"rooms"`
	Next  string            `json:"next,omitempty"`
}

func listRooms(w http.ResponseWriter, r *http.Request, e *hubEntry, _ adminArgs) error {
	q := r.URL.Query()
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	list := roomList{Rooms: []hub.RoomSummary{}}
	if e != nil {
		fetch := 0
		if limit > 0 {
			fetch = limit + 1 // one more tells whether there is a next page
		}
		rooms, err := e.Rooms(q.Get("prefix"), q.Get("after"), fetch)
		if err != nil {
			return hubAPIError(err)
		}
		list.Rooms = rooms
		if limit > 0 && len(list.Rooms) > limit {
			list.Rooms = list.Rooms[:limit]
			list.Next = list.Rooms[limit-1].Name
		}
	}
	return adminJSON(w, http.StatusOK, list)
}

func showRoom(w http.ResponseWriter, _ *http.Request, e *hubEntry, a adminArgs) error {
	if e == nil {
		return errNoRoom(a)
	}
	d, ok, err := e.Room(a.room)
	if err != nil {
		return hubAPIError(err)
	}
	if !ok {
		return errNoRoom(a)
	}
	return adminJSON(w, http.StatusOK, d)
}

func publishToRoom(w http.ResponseWriter, r *http.Request, e *hubEntry, a adminArgs) error {
	res, err := publishFromServer(e, r, serverPublish{room: a.room})
	if err != nil {
		return caddy.APIError{HTTPStatus: publishStatus(err), Err: err}
	}
	adminLog().Info("published to a room", zap.String("hub", a.hub), zap.String("room", a.room),
		zap.Uint64("seq", res.Seq), zap.Int("delivered", res.Delivered), zap.Int("bytes", res.bytes))
	return adminJSON(w, http.StatusOK, res)
}

// roomMessages answers the room's kept messages after ?since= (default 0),
// at most ?limit= of them (default: all kept), oldest first.
func roomMessages(w http.ResponseWriter, r *http.Request, e *hubEntry, a adminArgs) error {
	q := r.URL.Query()
	var since uint64
	if s := q.Get("since"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return adminError(http.StatusBadRequest, "since %q: must be a seq, a whole number", s)
		}
		since = n
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	if e == nil {
		return errNoRoom(a)
	}
	page, ok, err := e.History(a.room, since, limit)
	if err != nil {
		return hubAPIError(err)
	}
	if !ok {
		return adminError(http.StatusNotFound, "no room %q: it has neither members nor history", a.room)
	}
	return adminJSON(w, http.StatusOK, page)
}

func kickClient(w http.ResponseWriter, r *http.Request, e *hubEntry, a adminArgs) error {
	code := hub.CloseKicked
	switch v := r.URL.Query().Get("reconnect"); v {
	case "", "false", "0":
	case "true", "1":
		code = hub.ClosePolicy
	default:
		return adminError(http.StatusBadRequest, "reconnect=%q: want true or false", v)
	}
	if e == nil {
		return adminError(http.StatusNotFound, "no client %q in room %q", a.client, a.room)
	}
	if ok, err := e.KickWithCode(a.room, a.client, code); err != nil {
		return hubAPIError(err)
	} else if !ok {
		return adminError(http.StatusNotFound, "no client %q in room %q", a.client, a.room)
	}
	adminLog().Info("disconnected a client", zap.String("hub", a.hub), zap.String("room", a.room), zap.String("client", a.client), zap.Int("close_code", code))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func emptyRoom(w http.ResponseWriter, _ *http.Request, e *hubEntry, a adminArgs) error {
	if e == nil {
		return errNoRoom(a)
	}
	if ok, err := e.Empty(a.room); err != nil {
		return hubAPIError(err)
	} else if !ok {
		return errNoRoom(a)
	}
	adminLog().Info("emptied a room", zap.String("hub", a.hub), zap.String("room", a.room))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func errNoRoom(a adminArgs) error {
	return adminError(http.StatusNotFound, "no room %q", a.room)
}

// hubAPIError answers what the hub could not do: 503 when its cluster's
// broker is unreachable, else 500.
func hubAPIError(err error) error {
	status := http.StatusInternalServerError
	if errors.Is(err, hub.ErrUnavailable) {
		status = http.StatusServiceUnavailable
	}
	return caddy.APIError{HTTPStatus: status, Err: err}
}

// adminError is an error answered as {"error": message} with status.
func adminError(status int, format string, args ...any) error {
	return caddy.APIError{HTTPStatus: status, Err: fmt.Errorf(format, args...)}
}

// adminJSON answers v as JSON with status.
func adminJSON(w http.ResponseWriter, status int, v any) error {
	if err := writeJSON(w, status, v); err != nil {
		return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
	}
	return nil
}

func adminLog() *zap.Logger { return caddy.Log().Named("admin.api.rooms") }

// limitParam reads the query's limit: a positive integer, 0 when absent.
func limitParam(q url.Values) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, adminError(http.StatusBadRequest, "limit %q: must be a positive integer", s)
	}
	return n, nil
}

// Interface guards
var (
	_ caddy.Module      = adminRooms{}
	_ caddy.AdminRouter = adminRooms{}
)
