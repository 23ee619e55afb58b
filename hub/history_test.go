package hub

import (
	"fmt"
	"testing"
	"time"
)

// appendN appends messages from+1 .. to to l, each frame size bytes.
func appendN(l Log, from, to uint64, size int) {
	for seq := from + 1; seq <= to; seq++ {
		l.Append(Entry{Seq: seq, Frame: newFrame(opText, make([]byte, size))})
	}
}

func seqsOf(entries []Entry) []uint64 {
	out := make([]uint64, len(entries))
	for i, e := range entries {
		out[i] = e.Seq
	}
	return out
}

func TestMemoryLogSince(t *testing.T) {
	s := NewMemoryStore(0)
	l := s.Open("r", HistoryLimits{Size: 5, TTL: time.Minute})
	appendN(l, 0, 8, 10) // keeps 4..8
	for _, tc := range []struct {
		since, limit int
		want         []uint64
		complete     bool
	}{
		{8, 0, nil, true},         // nothing missed
		{7, 0, []uint64{8}, true}, // one
		{3, 0, []uint64{4, 5, 6, 7, 8}, true},
		{3, 2, []uint64{4, 5}, true},           // limited
		{2, 0, []uint64{4, 5, 6, 7, 8}, false}, // 3 is gone
		{0, 0, []uint64{4, 5, 6, 7, 8}, false},
		{9, 0, nil, false}, // after the last seq: not this room's numbering
	} {
		t.Run(fmt.Sprintf("since %d limit %d", tc.since, tc.limit), func(t *testing.T) {
			got, pos, complete := l.Since(uint64(tc.since), tc.limit)
			if fmt.Sprint(seqsOf(got)) != fmt.Sprint(tc.want) || complete != tc.complete || pos.Seq != 8 {
				t.Fatalf("got %v complete %v pos %v; want %v complete %v", seqsOf(got), complete, pos, tc.want, tc.complete)
			}
		})
	}
	if m, b := s.Kept(); m != 5 || b != 5*12 {
		t.Fatalf("kept %d messages, %d bytes; want 5, 60", m, b)
	}
}

func TestMemoryLogOutlivesItsUsers(t *testing.T) {
	s := NewMemoryStore(0)
	l := s.Open("r", HistoryLimits{Size: 5, TTL: time.Minute})
	appendN(l, 0, 3, 10)
	epoch := l.Position().Epoch
	l.Close()
	again := s.Open("r", HistoryLimits{Size: 5, TTL: time.Minute})
	if p := again.Position(); p.Epoch != epoch || p.Seq != 3 {
		t.Fatalf("reopened at %v; want epoch %s seq 3", p, epoch)
	}
	if other := s.Open("s", HistoryLimits{Size: 5, TTL: time.Minute}).Position(); other.Epoch == epoch || other.Seq != 0 {
		t.Fatalf("a new room got %v", other)
	}
}

func TestMemoryLogExpiry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		users     int // left open
		age       time.Duration
		messages  bool // messages still kept
		forgotten bool // the whole log dropped
	}{
		{"fresh, no users", 0, 10 * time.Second, true, false},
		{"messages past ttl, no users", 0, 40 * time.Second, false, false},
		{"past ttl and key ttl, no users", 0, MinKeyTTL + time.Second, false, true},
		{"past everything, a user", 1, MinKeyTTL + time.Second, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewMemoryStore(0)
			l := s.Open("r", HistoryLimits{Size: 5, TTL: 30 * time.Second}).(*memLog)
			appendN(l, 0, 3, 10)
			l.Remember("k", Receipt{Seq: 3, Delivered: 1})
			if tc.users == 0 {
				l.Close()
			}
			forgotten := l.expire(time.Now().Add(tc.age))
			if forgotten != tc.forgotten || (len(l.ring) > 0) != tc.messages {
				t.Fatalf("forgotten %v, kept %d; want forgotten %v, messages %v", forgotten, len(l.ring), tc.forgotten, tc.messages)
			}
			if _, ok := l.Receipt("k"); ok != (tc.age <= MinKeyTTL) {
				t.Fatalf("key kept %v after %v", ok, tc.age)
			}
		})
	}
}

func TestMemoryStoreEvictsOldestRoomsFirst(t *testing.T) {
	s := NewMemoryStore(10 * 1000)
	limits := HistoryLimits{Size: 100, TTL: time.Minute}
	var logs []Log
	for i := range 5 {
		l := s.Open(fmt.Sprint("room", i), limits)
		appendN(l, 0, 10, 198) // 2000 bytes a room
		logs = append(logs, l)
		time.Sleep(2 * time.Millisecond) // room0 is the oldest
	}
	appendN(logs[4], 10, 11, 198) // over the bound
	deadline := time.Now().Add(5 * time.Second)
	for s.evicting.Load() || s.bytes.Load() > 9000 {
		if time.Now().After(deadline) {
			t.Fatalf("still %d bytes", s.bytes.Load())
		}
		time.Sleep(time.Millisecond)
	}
	_, pos, complete := logs[0].Since(5, 0)
	if complete || pos.Seq != 10 {
		t.Fatalf("evicted room: complete %v at %v; want too old at seq 10", complete, pos)
	}
	if got, _, complete := logs[4].Since(5, 0); !complete || len(got) != 6 {
		t.Fatalf("newest room: %v complete %v", seqsOf(got), complete)
	}
}

func TestMemoryLogHistoryOff(t *testing.T) {
	s := NewMemoryStore(0)
	l := s.Open("r", HistoryLimits{TTL: time.Minute})
	l.Append(Entry{Seq: 1})
	l.Append(Entry{Seq: 2})
	for since, complete := range map[uint64]bool{2: true, 1: false} {
		if got, pos, c := l.Since(since, 0); len(got) != 0 || c != complete || pos.Seq != 2 {
			t.Fatalf("since %d: %v %v %v", since, got, pos, c)
		}
	}
	if m, b := s.Kept(); m != 0 || b != 0 {
		t.Fatalf("history off kept %d messages, %d bytes", m, b)
	}
}

// Server publishes into a room that members keep emptying and refilling:
// each publish finds the room with its log open, and the numbering never
// restarts while the room's state is kept.
func TestPublishWhileRoomsComeAndGo(t *testing.T) {
	h := New(Options{})
	cfg := Config{NoPresence: true}.WithDefaults()
	c := newClient(h, &cfg, &discardConn{}, "", "", "test")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 500 {
			if err := h.join(c, "churn", ""); err != nil {
				t.Error(err)
				return
			}
			_ = h.leave(c, "churn", "")
		}
	}()
	var last uint64
	for i := 0; ; i++ {
		select {
		case <-done:
			if p, ok, _ := h.History("churn", 0, 0); !ok || p.Seq < last {
				t.Fatalf("history %+v %v after seq %d", p, ok, last)
			}
			return
		default:
		}
		if p, ok, _ := h.Publish("churn", []byte(fmt.Sprint(i))); ok {
			seq := p.Seq
			if seq <= last {
				t.Fatalf("seq %d after %d", seq, last)
			}
			last = seq
		}
	}
}
