package hub

import (
	"bytes"
	"fmt"
	"testing"
)

func TestMemoryPresence(t *testing.T) {
	p := NewPresence()
	steps := []struct {
		add, remove Member
		want        Counts
	}{
		{add: Member{Client: "c", User: "ann"}, want: Counts{1, 1}},
		{add: Member{Client: "a", User: "ann"}, want: Counts{2, 1}}, // a second tab
		{add: Member{Client: "b"}, want: Counts{3, 2}},              // anonymous: a user of its own
		{add: Member{Client: "d"}, want: Counts{4, 3}},
		{add: Member{Client: "d"}, want: Counts{4, 3}}, // twice is once
		{add: Member{Client: "e", User: "bob"}, want: Counts{5, 4}},
		{remove: Member{Client: "c"}, want: Counts{4, 4}}, // ann keeps a tab
		{remove: Member{Client: "a"}, want: Counts{3, 3}},
		{remove: Member{Client: "zz"}, want: Counts{3, 3}}, // not there
	}
	for i, s := range steps {
		var got Counts
		if s.add.Client != "" {
			got = p.Add("r", s.add)
		} else {
			got = p.Remove("r", s.remove)
		}
		if got != s.want || p.Counts("r") != s.want {
			t.Fatalf("step %d: %+v, want %+v", i, got, s.want)
		}
	}
	pages := []struct {
		after string
		limit int
		want  string
		more  bool
	}{
		{"", 10, "[{b } {d } {e bob}]", false},
		{"", 2, "[{b } {d }]", true},
		{"d", 2, "[{e bob}]", false},
		{"c", 1, "[{d }]", true}, // after an id that is not there
		{"e", 5, "[]", false},
	}
	for _, pg := range pages {
		got, c, more := p.Page("r", pg.after, pg.limit)
		if fmt.Sprint(got) != pg.want || more != pg.more || c != (Counts{3, 3}) {
			t.Errorf("Page(%q, %d) = %v %v %v, want %s %v", pg.after, pg.limit, got, c, more, pg.want, pg.more)
		}
	}
	for _, id := range []string{"b", "d", "e"} {
		p.Remove("r", Member{Client: id})
	}
	if got, c, _ := p.Page("r", "", 5); len(got) != 0 || c != (Counts{}) {
		t.Fatalf("empty room: %v %v", got, c)
	}
	if p.Counts("other") != (Counts{}) {
		t.Fatal("a room never joined has members")
	}
}

func TestPresenceDiff(t *testing.T) {
	var d presenceDiff
	d.add("join", Member{Client: "a"}, Counts{1, 1})
	d.add("join", Member{Client: "b"}, Counts{2, 2})
	d.add("leave", Member{Client: "a"}, Counts{1, 1}) // cancels a's join
	d.add("leave", Member{Client: "z"}, Counts{0, 0})
	if fmt.Sprint(d.joins, d.leaves, d.omitted, d.counts) != "[{b }] [{z }] 0 {0 0}" {
		t.Fatalf("diff: %v %v %d %v", d.joins, d.leaves, d.omitted, d.counts)
	}
	for i := 0; i < MaxDiffEntries+5; i++ {
		d.add("join", Member{Client: fmt.Sprint("j", i)}, Counts{})
	}
	if len(d.joins) != MaxDiffEntries || d.omitted != 6 || d.empty() {
		t.Fatalf("capped: %d joins, %d omitted", len(d.joins), d.omitted)
	}
	f := diffFrame(newRoom("r"), &presenceDiff{joins: []Member{{"a", "ann"}}, counts: Counts{3, 2}})
	got := string(f.b[bytes.IndexByte(f.b, '{'):])
	want := `{"type":"presence_diff","room":"r","joins":[{"client":"a","user":"ann"}],"leaves":[],"omitted":0,"members":3,"users":2}`
	if got != want {
		t.Fatalf("frame %s, want %s", got, want)
	}
}
