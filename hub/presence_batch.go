package hub

import "time"

// MaxDiffEntries is how many joins, and how many leaves, one presence_diff
// frame lists at most; changes beyond it are only counted ("omitted").
const MaxDiffEntries = 50

// presenceDiff is how a room tells its members who comes and goes. A room
// of at most `list` members (the latest joiner's PresenceList) sends one
// `presence` frame per join and leave; a larger one gathers the changes
// here and sends them as one `presence_diff` frame at most every
// `interval`, so that filling a big room costs each member a bounded
// number of frames, not one per other member.
type presenceDiff struct {
	list     int
	interval time.Duration

	joins, leaves []Member
	omitted       int    // changes not listed
	counts        Counts // after the latest change
	scheduled     bool   // a flush waits on a timer
	last          time.Time
}

func (d *presenceDiff) empty() bool {
	return len(d.joins) == 0 && len(d.leaves) == 0 && d.omitted == 0
}

// add records a change. A leave cancels a join listed in the same batch.
func (d *presenceDiff) add(event string, m Member, c Counts) {
	d.counts = c
	if event == "leave" {
		for i, j := range d.joins {
			if j.Client == m.Client {
				d.joins = append(d.joins[:i], d.joins[i+1:]...)
				return
			}
		}
		d.leaves = addCapped(d.leaves, m, &d.omitted)
		return
	}
	d.joins = addCapped(d.joins, m, &d.omitted)
}

func addCapped(list []Member, m Member, omitted *int) []Member {
	if len(list) >= MaxDiffEntries {
		*omitted++
		return list
	}
	return append(list, m)
}

// usePresenceConfig makes the room follow cfg's presence settings.
func (r *Room) usePresenceConfigLocked(cfg *Config) {
	r.diff.list, r.diff.interval = cfg.PresenceList, cfg.PresenceInterval
}

// announceLocked tells the members but skip (the member m, when it is of
// this hub) that m joined or left (event), leaving counts: at once in a
// small room, batched in a big one. The caller holds r.mu.
func (r *Room) announceLocked(event string, m Member, skip *Client, counts Counts) {
	if counts.Members <= r.diff.list {
		r.flushDiffLocked(nil) // what a big room had gathered goes first
		r.broadcastLocked(presenceFrame(r, event, m, counts.Members), skip)
		return
	}
	r.diff.add(event, m, counts)
	if r.diff.scheduled {
		return
	}
	wait := r.diff.interval - time.Since(r.diff.last)
	if wait <= 0 {
		r.flushDiffLocked(skip) // the only change of the batch is m's own
		return
	}
	r.diff.scheduled = true
	time.AfterFunc(wait, r.flushDiff)
}

// flushDiff sends what the room gathered, when its timer fires.
func (r *Room) flushDiff() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.diff.scheduled = false
	if !r.dead {
		r.flushDiffLocked(nil)
	}
}

// flushDiffLocked sends the gathered changes, if any, as one presence_diff
// to every member but skip.
func (r *Room) flushDiffLocked(skip *Client) {
	d := &r.diff
	if d.empty() {
		return
	}
	f := diffFrame(r, d)
	d.joins, d.leaves, d.omitted = d.joins[:0], d.leaves[:0], 0
	d.last = time.Now()
	r.broadcastLocked(f, skip)
}
