package broker

import (
	"bytes"
	"testing"
	"time"

	"github.com/caddyrooms/caddyrooms/hub"
)

// TestMessageFields: every kind of message crosses the subscription and
// the stream unchanged: binary payloads with newlines, empty data, the
// server as sender.
func TestMessageFields(t *testing.T) {
	_, a, b := twoNodes(t, nil)
	a.join(t, "room", "a1", "", hub.HistoryLimits{Size: 10, TTL: time.Minute})
	cases := []hub.ClusterMessage{
		{From: "c1", Data: []byte(`{"text":"hi\nthere"}`)},
		{From: "", Data: []byte(`"from the server"`)},
		{From: "c2", Data: []byte("line one\nline two"), Raw: true},
		{From: "c3", Data: []byte{0, '\n', 0xff, 0xfe, '\n'}, Raw: true, Binary: true},
		{From: "c4", Data: []byte{}, Raw: true, Binary: true},
	}
	for _, m := range cases {
		if _, _, _, err := b.Publish("room", m, "", true); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "every message", func() bool { return len(a.sink.messages("room")) == len(cases) })
	kept, _, complete, _, err := b.Since("room", 0, 0, 0)
	if err != nil || !complete {
		t.Fatalf("Since: complete %v, %v", complete, err)
	}
	for i, want := range cases {
		want.Seq = uint64(i + 1)
		for where, got := range map[string]hub.ClusterMessage{"delivered": a.sink.messages("room")[i], "kept": kept[i]} {
			if got.Seq != want.Seq || got.From != want.From || got.Raw != want.Raw || got.Binary != want.Binary || !bytes.Equal(got.Data, want.Data) {
				t.Errorf("%s %d: %+v, want %+v", where, i, got, want)
			}
		}
	}
	if msgs, _, complete, _, _ := b.Since("room", 1, 3, 1); len(msgs) != 1 || msgs[0].Seq != 2 || !complete {
		t.Errorf("Since(1, up to 3, limit 1): %v complete %v", seqs(msgs), complete)
	}
}
