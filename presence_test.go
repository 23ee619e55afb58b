package caddyrooms_test

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// presenceSite has a route with the default presence settings (/ws/ROOM)
// and one whose rooms turn big at 10 members (/small/ROOM).
const presenceSite = `:{PORT} {
	route /ws/* {
		rooms {
			room {path.1}
			user {query.name}
		}
	}
	route /small/* {
		rooms {
			room {path.1}
			user {query.name}
			presence_list 10
			presence_interval 200ms
		}
	}
	rooms /free {
		user {query.name}
	}
}`

// clientsOf returns the "clients" of a frame as client id -> user; ok is
// false when the frame has none.
func clientsOf(t *testing.T, f wstest.Frame, key string) (map[string]string, bool) {
	t.Helper()
	raw, ok := f[key].([]any)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(raw))
	for _, e := range raw {
		m := e.(map[string]any)
		id, _ := m["client"].(string)
		user, hasUser := m["user"].(string)
		if hasUser && user == "" {
			t.Fatalf("%s: an empty user is sent, not left out: %v", key, f)
		}
		out[id] = user
	}
	return out, true
}

func TestE2EPresenceListOnJoin(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, presenceSite)
	url := c.URL("ws") + "/ws/list"

	ann := wstest.Dial(t, url+"?name=ann", nil)
	ann.ID = ann.Expect("welcome").Str("client")
	j := ann.Expect("joined")
	if got, _ := clientsOf(t, j, "clients"); len(got) != 1 || got[ann.ID] != "ann" || j.Num("users") != 1 {
		t.Fatalf("the first joiner's list is itself: %v", j)
	}

	t.Log("a late joiner sees everyone present, itself included, with users")
	bob := wstest.Dial(t, url+"?name=bob", nil)
	bob.ID = bob.Expect("welcome").Str("client")
	anon := wstest.Dial(t, url, nil)
	anon.ID = anon.Expect("welcome").Str("client")
	bob.Expect("joined")
	j = anon.Expect("joined")
	want := map[string]string{ann.ID: "ann", bob.ID: "bob", anon.ID: ""}
	if got, ok := clientsOf(t, j, "clients"); !ok || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("joined clients = %v, want %v (frame %v)", got, want, j)
	}
	if j.Num("members") != 3 || j.Num("users") != 3 {
		t.Fatalf("joined counts: %v", j)
	}

	t.Log("small rooms keep one presence frame per join, unchanged")
	p := ann.Expect("presence")
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if fmt.Sprint(keys) != "[client event members room type user]" || p.Str("client") != bob.ID || p.Num("members") != 2 {
		t.Fatalf("presence frame changed: %v", p)
	}
	if p = ann.Expect("presence"); p.Str("client") != anon.ID || p.Num("members") != 3 {
		t.Fatalf("presence: %v", p)
	}
	if _, has := p["user"]; has {
		t.Fatalf("presence of an anonymous member has a user: %v", p)
	}

	t.Log("joining again answers the list again")
	bob.Send(map[string]any{"type": "join", "room": "list", "id": "again"})
	j = bob.ExpectSkipping("joined", "presence")
	if got, _ := clientsOf(t, j, "clients"); len(got) != 3 || j.Str("id") != "again" {
		t.Fatalf("joined again: %v", j)
	}
}

func TestE2EPresenceCap(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, presenceSite)
	for _, tc := range []struct {
		path string
		cap  int
	}{
		{"/ws/capped", 100}, // the default
		{"/small/capped10", 10},
	} {
		t.Logf("%s: up to %d members listed, then the count only", tc.path, tc.cap)
		for i := 1; i <= tc.cap+2; i++ {
			cl := wstest.Dial(t, fmt.Sprintf("%s%s?name=u%d", c.URL("ws"), tc.path, i), nil)
			cl.Expect("welcome")
			j := cl.Expect("joined")
			list, has := clientsOf(t, j, "clients")
			if j.Num("members") != int64(i) || j.Num("users") != int64(i) {
				t.Fatalf("joiner %d: %v", i, j)
			}
			if i <= tc.cap && len(list) != i {
				t.Fatalf("joiner %d of a room capped at %d: %d clients listed", i, tc.cap, len(list))
			}
			if i > tc.cap && has {
				t.Fatalf("joiner %d of a room capped at %d has clients: %v", i, tc.cap, j)
			}
		}
	}
}

// counter reads one member's frames, until its connection ends, and counts
// its presence frames and the changes they tell of, by phase of the test.
type counter struct {
	cl       *wstest.Client
	phase    *atomic.Int32
	frames   [3]int       // presence and presence_diff frames
	changes  [3]int       // joins, leaves and omitted ones they tell of
	lastSize [3]int64     // "members" of the latest one
	size     atomic.Int64 // lastSize of the current phase, for waiting
	badFrame string
}

// settle waits, at most 10 s, until every counter has been told the room
// has size members.
func settle(t *testing.T, counters []*counter, size int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, k := range counters {
		for k.size.Load() != size {
			if time.Now().After(deadline) {
				t.Fatalf("a member was not told the room has %d members within 10 s (it says %d)", size, k.size.Load())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (k *counter) read(wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		_, b, err := k.cl.Read(time.Minute) // ends when the test closes it
		if err != nil {
			return
		}
		var f wstest.Frame
		if json.Unmarshal(b, &f) != nil {
			k.badFrame = string(b)
			return
		}
		ph := k.phase.Load()
		switch f.Type() {
		case "presence":
			k.changes[ph]++
		case "presence_diff":
			joins, _ := f["joins"].([]any)
			leaves, _ := f["leaves"].([]any)
			if len(joins) > 50 || len(leaves) > 50 || f.Num("users") < 0 || f.Num("omitted") < 0 {
				k.badFrame = string(b)
			}
			k.changes[ph] += len(joins) + len(leaves) + int(f.Num("omitted"))
		default:
			continue
		}
		k.frames[ph]++
		k.lastSize[ph] = f.Num("members")
		k.size.Store(f.Num("members"))
	}
}

func TestE2EPresenceBatchesBigRoom(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, presenceSite)
	const n, list, interval = 200, 10, 200 * time.Millisecond
	url := c.URL("ws") + "/small/big"
	var phase atomic.Int32
	var wg sync.WaitGroup
	counters := make([]*counter, 0, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		k := &counter{cl: wstest.Join(t, fmt.Sprintf("%s?name=u%d", url, i), true), phase: &phase}
		counters = append(counters, k)
		wg.Add(1)
		go k.read(&wg)
	}
	fill := time.Since(start)
	settle(t, counters[:n-1], n) // the last batch came (the last joiner may be told by joined alone)
	watched := time.Since(start)
	phase.Store(1)

	// one frame per join while the room was small, then one per interval
	bound := list + int(math.Ceil(float64(watched)/float64(interval))) + 1
	t.Log("leaves are batched too")
	start = time.Now()
	for _, k := range counters[n/2:] {
		k.cl.Conn.Close()
	}
	settle(t, counters[:n/2], n/2)
	watched = time.Since(start) // every leave's batch went out in it
	phase.Store(2)              // what the rest hear as they go is not counted
	for _, k := range counters[:n/2] {
		k.cl.Conn.Close()
	}
	wg.Wait()
	first := counters[0]
	t.Logf("%d joins in %v: the first member got %d presence frames, bound %d; one per join would be %d",
		n-1, fill.Round(time.Millisecond), first.frames[0], bound, n-1)
	t.Logf("%d leaves: the first member got %d presence frames in %v", n-n/2, first.frames[1], watched.Round(time.Millisecond))

	for i, k := range counters[:n/2] {
		if k.badFrame != "" {
			t.Fatalf("member %d: bad frame %s", i, k.badFrame)
		}
		if k.frames[0] > bound || k.lastSize[0] != n {
			t.Fatalf("member %d: %d presence frames for the joins (bound %d), last size %d", i, k.frames[0], bound, k.lastSize[0])
		}
		if lb := int(math.Ceil(float64(watched)/float64(interval))) + 1; k.frames[1] > lb || k.lastSize[1] != n/2 {
			t.Fatalf("member %d: %d presence frames for the leaves (bound %d), last size %d", i, k.frames[1], lb, k.lastSize[1])
		}
	}
	if first.frames[0] >= (n-1)/2 || first.changes[0] != n-1 || first.changes[1] != n-n/2 {
		t.Fatalf("first member: %d frames telling of %d joins and %d leaves, want %d and %d",
			first.frames[0], first.changes[0], first.changes[1], n-1, n-n/2)
	}
}

func TestE2EPresencePaging(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, presenceSite)
	const n = 25
	url := c.URL("ws") + "/ws/paged"
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		ids = append(ids, wstest.Join(t, fmt.Sprintf("%s?name=u%d", url, i), true).ID)
	}
	slices.Sort(ids)
	me := wstest.Join(t, c.URL("ws")+"/free?name=pager", false)
	me.Send(map[string]any{"type": "members", "room": "paged", "id": "x"})
	if f := me.ExpectError("not_member"); f.Str("id") != "x" {
		t.Fatalf("paging a room one is not in: %v", f)
	}
	me.Send(map[string]any{"type": "join", "room": "paged"})
	me.Expect("joined")
	ids = append(ids, me.ID)
	slices.Sort(ids)

	t.Log("pages of 10, in connection id order, until no next")
	var got []string
	after, pages := "", 0
	for {
		me.Send(map[string]any{"type": "members", "room": "paged", "after": after, "limit": 10, "id": fmt.Sprint(pages)})
		p := me.Expect("members")
		pages++
		list, _ := clientsOf(t, p, "clients")
		if p.Str("id") != fmt.Sprint(pages-1) || p.Num("members") != n+1 || p.Num("users") != n+1 || len(list) > 10 {
			t.Fatalf("page %d: %v", pages, p)
		}
		page := sortedKeys(list)
		got = append(got, page...)
		if p.Str("next") == "" {
			break
		}
		if p.Str("next") != page[len(page)-1] || pages > 5 {
			t.Fatalf("page %d: next %q", pages, p.Str("next"))
		}
		after = p.Str("next")
	}
	if pages != 3 || !slices.Equal(got, ids) {
		t.Fatalf("%d pages listed %v, want %v", pages, got, ids)
	}

	t.Log("no limit is 100; a bad limit is an error, the connection stays")
	me.Send(map[string]any{"type": "members", "room": "paged"})
	if p := me.Expect("members"); len(p["clients"].([]any)) != n+1 || p.Str("next") != "" {
		t.Fatalf("default page: %v", p)
	}
	for _, bad := range []any{-1, 1001, "ten"} {
		me.Send(map[string]any{"type": "members", "room": "paged", "limit": bad})
		if _, isNum := bad.(int); isNum {
			me.ExpectError("invalid_limit")
		} else {
			me.ExpectError("bad_json")
		}
	}
	me.Send(map[string]any{"type": "members"})
	me.ExpectError("missing_room")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestE2EPresenceMultiTabUsers(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, presenceSite)
	for _, tc := range []struct{ path string }{{"/ws/tabs"}, {"/small/tabs10"}} {
		t.Logf("%s: ann in three tabs, bob, two anonymous connections", tc.path)
		url := c.URL("ws") + tc.path
		var last wstest.Frame
		for _, q := range []string{"?name=ann", "?name=ann", "?name=bob", "", "?name=ann", ""} {
			cl := wstest.Dial(t, url+q, nil)
			cl.Expect("welcome")
			last = cl.Expect("joined")
		}
		if last.Num("members") != 6 || last.Num("users") != 4 {
			t.Fatalf("joined: %v, want 6 members, 4 users", last)
		}
		list, _ := clientsOf(t, last, "clients")
		tabs := 0
		for _, u := range list {
			if u == "ann" {
				tabs++
			}
		}
		if tabs != 3 || len(list) != 6 {
			t.Fatalf("clients %v: want ann's 3 connections among 6", list)
		}
	}
	resp, err := testcaddy.Get(c.AdminURL() + "/rooms/tabs")
	if err != nil {
		t.Fatal(err)
	}
	var room struct{ Members, Users int }
	err = json.NewDecoder(resp.Body).Decode(&room)
	resp.Body.Close()
	if err != nil || room.Members != 6 || room.Users != 4 {
		t.Fatalf("admin API: %+v %v, want 6 members, 4 users", room, err)
	}

	t.Log("in a big room, presence_diff and members pages count users")
	url := c.URL("ws") + "/small/crowd"
	watcher := wstest.Join(t, url+"?name=watcher", true)
	for i := 0; i < 30; i++ {
		wstest.Join(t, fmt.Sprintf("%s?name=u%d", url, i%5), true) // 5 users, 6 tabs each
	}
	var diff wstest.Frame
	for deadline := time.Now().Add(wstest.Timeout); diff.Num("members") != 31 && time.Now().Before(deadline); {
		diff = watcher.ExpectSkipping("presence_diff", "presence")
	}
	if diff.Num("users") != 6 {
		t.Fatalf("presence_diff: %v, want 31 members, 6 users", diff)
	}
	watcher.Send(map[string]any{"type": "members", "room": "crowd", "limit": 1})
	if p := watcher.Expect("members"); p.Num("members") != 31 || p.Num("users") != 6 || p.Str("next") == "" {
		t.Fatalf("members: %v", p)
	}
}
