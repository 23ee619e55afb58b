package hub

import (
	"encoding/json"
	"testing"
)

// framePayload is the payload of a server frame (unmasked, one frame).
func framePayload(b []byte) []byte {
	switch n := b[1] & 0x7F; n {
	case 126:
		return b[4:]
	case 127:
		return b[10:]
	default:
		return b[2:]
	}
}

// FuzzJSONDispatch feeds any text message to a json connection's reader:
// it never panics, every message gets at least one answer (joined, left,
// message and ack, or error), and every answer is one JSON object.
func FuzzJSONDispatch(f *testing.F) {
	for _, s := range []string{
		`{"type":"join","room":"lobby","id":"1"}`,
		`{"type":"leave","room":"lobby","id":"2"}`,
		`{"type":"publish","room":"lobby","data":{"a":[1,2,{"b":null}]},"id":"3"}`,
		`{"type":"publish","room":"lobby","data":"x","key":"k1"}`,
		`{"type":"join","room":"lobby","since":{"epoch":"e","seq":41},"id":"4"}`,
		`{"type":"publish","room":"elsewhere","data":1}`,
		`{"type":"publish","room":"lobby"}`,
		`{"type":"","room":"lobby"}`,
		`{"type":"dance"}`,
		`{"type":"join","room":""}`,
		`{"type":"join","room":"\u0000\ud800"}`,
		`[1,2,3]`, `null`, `"join"`, `{`, ``, `{"type":"join","type":"leave","room":"a"}`,
		`{"type":"publish","room":"lobby","data":` + "\"\xff\"" + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		h := New(Options{})
		cfg := Config{MaxErrors: -1}.WithDefaults()
		c := newClient(h, &cfg, nil, "", "", "fuzz") // not attached: answers queue
		if err := h.join(c, "lobby", ""); err != nil {
			t.Fatal(err)
		}
		before := c.Queued()
		r := newReader(c)
		r.message(opText, msg)
		c.mu.Lock()
		answers := append([]*Frame(nil), c.queue[before:]...)
		c.mu.Unlock()
		if len(answers) == 0 {
			t.Fatalf("no answer to %q", msg)
		}
		for _, a := range answers {
			var obj map[string]any
			if err := json.Unmarshal(framePayload(a.b), &obj); err != nil || obj["type"] == nil {
				t.Fatalf("answer %q to %q is not a JSON object with a type: %v", framePayload(a.b), msg, err)
			}
		}
	})
}
