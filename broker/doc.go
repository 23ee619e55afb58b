// Package broker is the Redis broker that lets several hubs (nodes) serve
// the same rooms: it implements hub.Cluster on go-redis's UniversalClient,
// so one Redis, Redis Sentinel and Redis Cluster all work.
//
// URLs (Options.URL):
//
//	redis://[user:pass@]host:port/db            one Redis
//	rediss://[user:pass@]host:port/db           one Redis over TLS
//	unix://[user:pass@]/path/to/socket?db=N     one Redis on a Unix socket
//	redis+cluster://host:port?addr=host2:port2  Redis Cluster (rediss+cluster:// for TLS)
//	redis+sentinel://host:port?master_name=m&addr=host2:port2
//	                                            Sentinel (rediss+sentinel:// for TLS)
//
// The query parameters are go-redis's (ParseURL, ParseClusterURL,
// ParseFailoverURL): dial_timeout, read_timeout, pool_size and so on.
//
// Layout: every key of a room shares the hash tag of the room's name, so one
// script touches them all on Redis Cluster: rooms:{R}:meta (epoch, top seq,
// limits), :h (the history stream, one entry per seq, exact MAXLEN and a
// TTL; the meta key outlives it), :m (member id -> record), :z (member ids,
// for paging), :u (user -> connections), :k:<key> (publish keys) and
// :n:<node> (a node's members). One script per publish checks the key,
// bumps the seq, appends to the stream and publishes on the room's
// channel. A node subscribes to a room's channel only while it has members
// there; it delivers in seq order, repairs gaps from the stream and asks
// the hub to resync a room it cannot repair.
//
// Room traffic uses PUBLISH/SUBSCRIBE, also on Redis Cluster: SPUBLISH
// works from a script there, but go-redis subscribes all of a connection's
// sharded channels again in one SSUBSCRIBE, which Redis refuses when they
// span slots, so sharded channels would take one connection per slot.
//
// Nodes heartbeat into rooms:nodes (node -> last beat); any node sweeps a
// node silent for NodeTimeout: its members leave, with presence events.
package broker
