package broker

import (
	"testing"

	"github.com/caddyrooms/caddyrooms/hub"
)

// TestWireRejects: what cannot be read is refused, not half read.
func TestWireRejects(t *testing.T) {
	cases := []struct {
		name string
		read func() error
	}{
		{"message without data", func() error { _, _, err := parseMessage("1\n2\nj\nc"); return err }},
		{"message with a bad seq", func() error { _, _, err := parseMessage("x\n2\nj\nc\nd"); return err }},
		{"message with a bad time", func() error { _, _, err := parseMessage("1\nx\nj\nc\nd"); return err }},
		{"presence of an unknown event", func() error { _, err := parsePresence("stay\nn\n1\n1\nc\nu"); return err }},
		{"presence with bad counts", func() error { _, err := parsePresence("join\nn\nx\n1\nc\nu"); return err }},
		{"short presence", func() error { _, err := parsePresence("join\nn\n1"); return err }},
		{"kick with a bad code", func() error { _, _, _, err := parseKick("x\nc\nroom"); return err }},
		{"receipt without delivered", func() error { _, err := parseReceipt("12"); return err }},
		{"record with a bad time", func() error { _, err := parseRecord("id", "n\naddr\nx\nu"); return err }},
	}
	for _, c := range cases {
		if err := c.read(); err == nil {
			t.Errorf("%s: read", c.name)
		}
	}
}

// TestWireReads: presence, kicks and receipts read back what was written.
func TestWireReads(t *testing.T) {
	p, err := parsePresence("leave\nnode-1\n3\n2\nc1\nuser\nwith newline")
	want := presence{event: "leave", node: "node-1", member: hub.Member{Client: "c1", User: "user\nwith newline"}, counts: hub.Counts{Members: 3, Users: 2}}
	if err != nil || p != want {
		t.Errorf("parsePresence: %+v %v", p, err)
	}
	room, client, code, err := parseKick(kick("a\nroom", "c1", 4001)[1:])
	if err != nil || room != "a\nroom" || client != "c1" || code != 4001 {
		t.Errorf("parseKick: %q %q %d %v", room, client, code, err)
	}
	if rc, err := parseReceipt("12:3"); err != nil || rc != (hub.Receipt{Seq: 12, Delivered: 3}) {
		t.Errorf("parseReceipt: %+v %v", rc, err)
	}
}
