// Package route is a vhost's routing table: exchanges, bindings and the
// routing of a message to its final queues and streams. It knows no wire
// protocol; the faces translate its errors (errors.go) into theirs.
//
// # Model
//
// A Table holds the exchanges of one vhost (NewTable predeclares amq.direct,
// amq.fanout, amq.topic, amq.headers and amq.match) and the default
// exchange "", which routes a key straight to the queue or stream of that
// name registered with AddDest. Bindings go from a source exchange to a
// Dest: a queue, a stream or another exchange. Exchange types are direct,
// fanout, topic (subpackage topic, a trie) and headers (x-match all, any,
// all-with-x, any-with-x). A binding may carry a Matcher (an extra
// condition) and a Transform (a per-destination rewrite, returned in
// Target for the caller to apply).
//
// # Routing
//
// Route (route.go) is the hot path. It collects the routing keys (the
// message's plus its CC and BCC headers), walks the source exchange and,
// breadth first, every exchange reached through exchange-to-exchange
// bindings, then the alternate exchange of each exchange that matched
// nothing. An exchange is visited once per Route, so e2e and alternate
// exchange cycles end. Destinations are deduplicated; when two bindings
// reach one destination the oldest binding's Transform wins. When the
// message has a BCC header Route says so and the caller delivers
// StripBCC(m) instead of m (messages are immutable and shared).
//
// # Concurrency
//
// Publishing goroutines route concurrently; declares and binds are rare.
// The Table is guarded by one sync.RWMutex: Route takes the read lock and
// borrows its scratch space from a sync.Pool, so it allocates nothing when
// out has room. A copy-on-write snapshot behind an atomic.Pointer was
// rejected: copying the routing structures on every bind makes each bind
// O(bindings), so recovering 100,000 bindings would be quadratic, while
// the read lock costs one atomic add per publish. Matcher.Match runs under
// the read lock: it must not call back into the Table.
//
// # Persistence
//
// The Table keeps nothing on disk. Declare and Bind report whether they
// changed anything; Delete, Unbind and RemoveDest return Removed, every
// exchange and binding they took away (auto-delete cascades included);
// Exchanges and Bindings list all definitions for a snapshot.
package route
