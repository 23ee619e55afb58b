package caddyrooms_test

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// A publish repeated with its key, from a client, from the admin API and
// from rooms_publish, takes effect once and gets the first answer again,
// marked duplicate; the metrics count the duplicates and the resumes.
func TestE2EIdempotentPublish(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, histSite)
	m := wstest.Join(t, c.URL("ws")+"/ws/k", true)
	p := wstest.Join(t, c.URL("ws")+"/ws/k", true)
	m.Expect("presence")

	t.Log("a client's publish with a key")
	pub := map[string]any{"type": "publish", "room": "k", "data": "once", "key": "c-1", "id": "1"}
	p.Send(pub)
	first := p.ExpectSkipping("ack", "message")
	p.Send(pub)
	again := p.Expect("ack")
	if first.Num("seq") != 1 || again.Num("seq") != 1 || again["duplicate"] != true || first["duplicate"] != nil {
		t.Fatalf("acks %v then %v", first, again)
	}

	t.Log("the admin API and rooms_publish with Idempotency-Key")
	type answer struct {
		Seq       int  `json:"seq"`
		Delivered int  `json:"delivered"`
		Duplicate bool `json:"duplicate"`
	}
	for i, url := range []string{c.AdminURL() + "/rooms/k/messages", c.URL("http") + "/api/publish/k"} {
		key := "http-" + string(rune('a'+i))
		var a1, a2 answer
		if r := histPost(t, url, `{"via":"http"}`, key); r.Status != 200 {
			t.Fatalf("POST %s: %d %s", url, r.Status, r.Body)
		} else {
			r.JSON(t, &a1)
		}
		histPost(t, url, `{"via":"http"}`, key).JSON(t, &a2)
		if a1.Seq != 2+i || a2.Seq != a1.Seq || a2.Delivered != a1.Delivered || !a2.Duplicate || a1.Duplicate {
			t.Fatalf("%s: %+v then %+v", url, a1, a2)
		}
	}
	if r := histPost(t, c.AdminURL()+"/rooms/k/messages", `1`, strings.Repeat("k", 257)); r.Status != 400 {
		t.Fatalf("a long key: %d %s", r.Status, r.Body)
	}
	histRead(t, m, 0, 3) // each once
	m.ExpectSilence(200 * time.Millisecond)

	t.Log("metrics")
	b := wstest.Join(t, c.URL("ws")+"/free", false)
	histJoin(t, b, "k", map[string]any{"epoch": "gone", "seq": 1}, 0)
	metWait(t, c, map[string]float64{
		"caddy_rooms_duplicate_publishes_total":             3,
		`caddy_rooms_resumes_total{result="epoch_changed"}`: 1,
		"caddy_rooms_history_messages":                      3,
	})
	if got := metScrape(t, c)["caddy_rooms_history_bytes"]; got < 3*40 {
		t.Fatalf("history_bytes %v for 3 messages", got)
	}
}
