package main

import "testing"

func TestAppendPayloadSize(t *testing.T) {
	for _, size := range []int{minPayloadSize, 100, 1000, 4096} {
		p := appendPayload(nil, 1763772000123456789, 7, 42, size)
		if len(p) != size {
			t.Errorf("size %d: got %d bytes: %s", size, len(p), p)
		}
		st, ok := parseStamp(p)
		if !ok || st != (stamp{1763772000123456789, 7, 42}) {
			t.Errorf("size %d: parseStamp = %+v, %v", size, st, ok)
		}
	}
}

func TestParseStamp(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  stamp
		ok    bool
	}{
		{"bare payload (raw, nchan)", `{"t":1700000000000000001,"p":3,"n":9,"x":"xx"}`, stamp{1700000000000000001, 3, 9}, true},
		{"json protocol message", `{"type":"message","room":"bench1","from":"c7","data":{"t":5,"p":1,"n":2,"x":""},"seq":2}`, stamp{5, 1, 2}, true},
		{"re-encoded with sorted keys", `{"data":{"n":2,"p":1,"t":5,"x":""},"type":"message"}`, stamp{5, 1, 2}, true},
		{"spaces after colons", `{"t": 5, "p": 1, "n": 2}`, stamp{5, 1, 2}, true},
		{"double-encoded time", `{"t":1.7e+18,"p":1,"n":2}`, stamp{1700000000000000000, 1, 2}, true},
		{"socket.io event", `42["msg",{"t":11,"p":0,"n":1,"x":"x"}]`, stamp{11, 0, 1}, true},
		{"welcome", `{"type":"welcome","client":"c1"}`, stamp{}, false},
		{"ack", `{"type":"ack","seq":3}`, stamp{}, false},
		{"presence", `{"type":"presence","room":"r","event":"join","client":"c2","members":4}`, stamp{}, false},
		{"socket.io ping", `2`, stamp{}, false},
		{"time without digits", `{"t":"soon"}`, stamp{}, false},
	}
	for _, tt := range tests {
		got, ok := parseStamp([]byte(tt.frame))
		if ok != tt.ok || got != tt.want {
			t.Errorf("%s: parseStamp(%s) = %+v, %v; want %+v, %v", tt.name, tt.frame, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFrameType(t *testing.T) {
	tests := map[string]string{
		`{"type":"welcome","client":"a"}`:   "welcome",
		`{"client":"a","type": "joined"}`:   "joined",
		`{"type":1}`:                        "",
		`{"t":1}`:                           "",
		`{"type":"unterminated`:             "",
		`{"room":"r","type":"error","x":1}`: "error",
	}
	for frame, want := range tests {
		if got := frameType([]byte(frame)); got != want {
			t.Errorf("frameType(%s) = %q, want %q", frame, got, want)
		}
	}
}

func TestAppendPublish(t *testing.T) {
	payload := []byte(`{"t":1}`)
	tests := []struct {
		target string
		want   string
	}{
		{"json", `{"type":"publish","room":"r1","data":{"t":1}}`},
		{"raw", `{"t":1}`},
		{"nchan", `{"t":1}`},
		{"socketio", `42["pub","r1",{"t":1}]`},
	}
	for _, tt := range tests {
		if got := string(targets[tt.target].appendPublish(nil, "r1", payload)); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.target, got, tt.want)
		}
	}
}
