package caddyrooms

import (
	"net/url"
	"strings"
	"testing"

	"github.com/caddyrooms/caddyrooms/hub"
)

func TestResumeParams(t *testing.T) {
	for _, tc := range []struct {
		query string
		since *hub.Position
		last  int
		err   string
	}{
		{"", nil, 0, ""},
		{"rooms_since=abc:41", &hub.Position{Epoch: "abc", Seq: 41}, 0, ""},
		{"rooms_since=a:b:0", &hub.Position{Epoch: "a:b", Seq: 0}, 0, ""},
		{"rooms_last=20", nil, 20, ""},
		{"rooms_since=abc", nil, 0, "want <epoch>:<seq>"},
		{"rooms_since=:4", nil, 0, "want <epoch>:<seq>"},
		{"rooms_since=abc:-1", nil, 0, "want <epoch>:<seq>"},
		{"rooms_last=many", nil, 0, "want a whole number"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			since, last, err := resumeParams(q)
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v; want %q", err, tc.err)
				}
			case err != nil || last != tc.last || (since == nil) != (tc.since == nil) || (since != nil && *since != *tc.since):
				t.Fatalf("got %v %d %v; want %v %d", since, last, err, tc.since, tc.last)
			}
		})
	}
}
