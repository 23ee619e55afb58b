package hub

import (
	"errors"
	"time"
)

// The seam between the hub and a broker that lets several processes
// (nodes) serve the same rooms. Without one (Options.Cluster nil) the hub
// numbers, keeps and fans out each room's messages itself, through its
// Store and Presence. With one, the broker orders every publish (one seq
// per room for the whole cluster), keeps history, publish keys and
// presence for every node, and hands each node the messages of the rooms
// it has members in, through the ClusterSink the hub gives it.

// ErrUnavailable is what a Cluster returns when it cannot reach its
// broker: nothing was ordered, stored or delivered. The hub answers it with
// the error code "unavailable".
var ErrUnavailable = errors.New("broker unavailable")

// CloseResync is the close code a member gets when its node missed messages
// of one of its rooms that the broker could not hand it again (or the
// room's numbering started over): the client should reconnect and resume.
const CloseResync = 1012

// CloseUnavailable closes a raw-protocol connection whose message could
// not be ordered because the broker is unreachable: a raw client gets no
// error frames, so it is told by the close and may reconnect.
const CloseUnavailable = 1013

// ClusterMember is one local connection in a room, as a cluster records it.
type ClusterMember struct {
	Member               // connection id and identity
	RemoteAddr string    // the client's address, for the admin API
	JoinedAt   time.Time // when it joined the room
}

// ClusterMessage is one publish, as it travels between nodes and as the
// broker keeps it in history.
type ClusterMessage struct {
	Seq    uint64 // 0 when handed to Publish; the room's seq when delivered
	From   string // the sender's connection id; "" for the server
	Data   []byte // json sender: the JSON value; raw sender: the payload
	Raw    bool   // the sender speaks the raw protocol
	Binary bool   // raw sender: it was a binary frame
}

// ClusterClient is a member of a room on any node, for the admin API.
type ClusterClient struct {
	MemberInfo
	Node string `json:"node"`
}

// Cluster is a broker shared by several hubs. Join, Leave and Publish are
// called under the room's lock (so, for one room of one hub, never at the
// same time), but for a server publish into a room with no member in this
// hub, which has no lock to take; the rest may be called at any time.
// The ClusterSink methods take the room's lock too: no method may wait,
// while it runs, for a ClusterSink call to return. Every method that talks
// to the broker returns ErrUnavailable (possibly wrapped) when it cannot.
type Cluster interface {
	// Start hands the cluster the hub that receives its traffic. It is
	// called once, by New or Hub.SetCluster, before any other method.
	Start(s ClusterSink)
	// Node is this process's name in the cluster.
	Node() string

	// Join records m as a member of room for the whole cluster and returns
	// the room's counts after it. When first is true, m is the room's first
	// member in this process: the room is created with limits if it has no
	// numbering yet, and from then on the cluster delivers to this hub,
	// through ClusterSink.Deliver and in seq order, every message of the
	// room after the position returned, until Leave says last.
	Join(room string, m ClusterMember, limits HistoryLimits, first bool) (Position, Counts, error)
	// Leave forgets m in room and returns the counts after it; last is
	// true when the room has no member left in this process, and the
	// cluster stops delivering its traffic here.
	Leave(room string, m ClusterMember, last bool) Counts
	// Publish orders msg in room: the next seq for the whole cluster,
	// kept in history and delivered to every node with members of room,
	// this one included. A key the room has seen answers that publish's
	// receipt with duplicate true, and nothing is delivered. found is
	// false, and nothing is published, when the room has no member on any
	// node and requireMembers is true (a server publish into no room).
	// Receipt.Delivered is the room's cluster-wide member count then.
	Publish(room string, msg ClusterMessage, key string, requireMembers bool) (rc Receipt, duplicate, found bool, err error)

	// Since returns the room's kept messages after seq, at most up to and
	// including upTo (0: no bound) and at most limit of them (0: no limit),
	// oldest first, with the room's position; complete is false when a
	// message after seq is no longer kept: the kept ones are returned all
	// the same (a late joiner's "last" and the admin API show them; a
	// resume replays none). ok is false when the room has neither members
	// nor history.
	Since(room string, seq, upTo uint64, limit int) (msgs []ClusterMessage, pos Position, complete, ok bool, err error)
	// Receipt answers a keyed publish into a room with no local members:
	// the receipt of the publish with key, if the room has seen it.
	Receipt(room, key string) (Receipt, bool, error)
	// Page lists at most limit members of room whose ids sort after
	// `after`, with the room's counts; more is true when others follow.
	Page(room, after string, limit int) (page []Member, c Counts, more bool, err error)

	// Rooms lists the cluster's rooms with members, sorted by name: those
	// starting with prefix, after the name after, at most limit (0: all).
	Rooms(prefix, after string, limit int) ([]RoomSummary, error)
	// Clients lists the members of room on every node; ok is false when
	// the room has no members anywhere.
	Clients(room string) (clients []ClusterClient, c Counts, pos Position, ok bool, err error)
	// Kick disconnects the member called client of room, on whichever node
	// holds it, with close code; false when there is no such member.
	Kick(room, client string, code int) (bool, error)
	// Empty makes every member of room, on every node, leave it (through
	// ClusterSink.Emptied); false when the room had no members.
	Empty(room string) (bool, error)

	// Close stops the cluster's work for this hub; it does not touch the
	// hub's connections.
	Close() error
}

// ClusterSink is what a Cluster calls on its hub (the hub implements it).
// Calls for one room come from one goroutine at a time. Emptied and Resync
// tell the cluster, by Leave, that each member left; SetCluster joins every
// member again on the new cluster.
type ClusterSink interface {
	// Deliver fans a message out to the room's local members; for each
	// room the cluster calls it in seq order, with no seq left out.
	Deliver(room string, msg ClusterMessage)
	// RemotePresence tells the room's local members that a member of
	// another node joined or left ("join" or "leave"), with the counts.
	RemotePresence(room, event string, m Member, c Counts)
	// Emptied makes the room's local members leave it, each told with
	// `left`, as Hub.Empty does.
	Emptied(room string)
	// KickLocal disconnects the local member client of room with code.
	KickLocal(room, client string, code int) bool
	// Resync closes the room's local members with CloseResync: the cluster
	// missed messages it cannot hand again, or the numbering started over.
	Resync(room string)
	// LocalMembers lists every room with local members and those members,
	// for the cluster to record again (after its broker lost them, or when
	// another broker takes over).
	LocalMembers() map[string][]ClusterMember
}
