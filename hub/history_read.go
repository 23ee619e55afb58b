package hub

import "encoding/json"

// HistoryMessage is one kept message, as the admin API shows it.
type HistoryMessage struct {
	Seq  uint64          `json:"seq"`
	From string          `json:"from,omitempty"` // empty for the server's
	Data json.RawMessage `json:"data"`
}

// HistoryPage is a room's position and kept messages after a seq.
type HistoryPage struct {
	Room     string           `json:"room"`
	Epoch    string           `json:"epoch"`
	Seq      uint64           `json:"seq"`
	Messages []HistoryMessage `json:"messages"`
}

// History returns the kept messages of the room called name after since,
// oldest first, at most limit (0 is no limit); ok is false when the room
// has neither members nor kept state. With a cluster they are the ones
// its broker keeps; err wraps ErrUnavailable when it could not be asked.
func (h *Hub) History(name string, since uint64, limit int) (p HistoryPage, ok bool, err error) {
	if cl := h.clusterNow(); cl != nil {
		return clusterHistory(cl, name, since, limit)
	}
	p, ok = h.localHistory(name, since, limit)
	return p, ok, nil
}

// clusterHistory is History from the room's cluster: the data as the
// messages' frames show it (a raw sender's payload as a JSON value).
func clusterHistory(cl Cluster, name string, since uint64, limit int) (HistoryPage, bool, error) {
	msgs, pos, _, ok, err := cl.Since(name, since, 0, limit)
	if err != nil {
		return HistoryPage{}, false, brokerError(err)
	}
	if !ok {
		return HistoryPage{}, false, nil
	}
	p := HistoryPage{Room: name, Epoch: pos.Epoch, Seq: pos.Seq, Messages: make([]HistoryMessage, 0, len(msgs))}
	for _, m := range msgs {
		data := m.Data
		if m.Raw {
			data = dataAsJSON(data)
		}
		p.Messages = append(p.Messages, HistoryMessage{Seq: m.Seq, From: m.From, Data: data})
	}
	return p, true, nil
}

// localHistory is History from the hub's store.
func (h *Hub) localHistory(name string, since uint64, limit int) (p HistoryPage, ok bool) {
	l := h.store.Lookup(name)
	if l == nil {
		return p, false
	}
	entries, pos, _ := l.Since(since, limit)
	p = HistoryPage{Room: name, Epoch: pos.Epoch, Seq: pos.Seq, Messages: make([]HistoryMessage, 0, len(entries))}
	for _, e := range entries {
		if e.Frame == nil {
			continue
		}
		var m HistoryMessage
		if err := json.Unmarshal(e.Frame.Payload(), &m); err == nil {
			p.Messages = append(p.Messages, m)
		}
	}
	return p, true
}

// HistoryKept is how many messages the hub's store keeps and the size of
// their frames; ok is false for a store that does not tell.
func (h *Hub) HistoryKept() (messages int, bytes int64, ok bool) {
	k, ok := h.store.(interface{ Kept() (int, int64) })
	if !ok {
		return 0, 0, false
	}
	messages, bytes = k.Kept()
	return messages, bytes, true
}

// Payload is the frame's payload, without its header.
func (f *Frame) Payload() []byte {
	switch n := f.b[1] & 0x7f; {
	case n < 126:
		return f.b[2:]
	case n == 126:
		return f.b[4:]
	default:
		return f.b[10:]
	}
}
