package crash_test

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ledger records, for one face, what the broker confirmed and what the
// consumers saw. Ids are the producer's sequence numbers: one producer per
// face publishes them in increasing order, so the first receipt of each id
// on one queue or shard must come in increasing order too.
type ledger struct {
	name string
	// ackDurable: the face answers an ack or delete only once it is durable
	// (SQS DeleteMessage), so an acked id that comes back is a failure.
	// Otherwise (AMQP basic.ack, MQTT PUBACK) it counts as a duplicate.
	ackDurable bool

	mu        sync.Mutex       // guards everything below
	confirmed map[int]bool     // the broker confirmed it
	seen      map[int]int      // deliveries per id
	acked     map[int]bool     // the consumer's ack or delete succeeded
	lastFirst map[string]int   // per queue or shard: last id received for the first time
	orderBad  []string         // examples of order violations
	orderN    int              // order violations
	backAcked int              // deliveries of ids whose ack or delete had succeeded
	phantom   int              // deliveries of ids never confirmed (allowed: confirm lost in the crash)
	lastSeen  atomic.Int64     // unix nanos of the last delivery
	published atomic.Int64     // ids handed to the producer's client
	extra     map[string]int64 // face-specific counters for the report
}

func newLedger(name string) *ledger {
	return &ledger{
		name: name, confirmed: map[int]bool{}, seen: map[int]int{}, acked: map[int]bool{},
		lastFirst: map[string]int{}, extra: map[string]int64{},
	}
}

func (l *ledger) confirm(id int) {
	l.mu.Lock()
	l.confirmed[id] = true
	l.mu.Unlock()
}

// deliver records a delivery of id on queue or shard q.
func (l *ledger) deliver(q string, id int) {
	l.lastSeen.Store(time.Now().UnixNano())
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.seen[id]
	l.seen[id] = n + 1
	if l.acked[id] {
		l.backAcked++
	}
	if n > 0 {
		return
	}
	if last, ok := l.lastFirst[q]; ok && id < last {
		l.orderN++
		if len(l.orderBad) < 5 {
			l.orderBad = append(l.orderBad, fmt.Sprintf("%s: %d after %d", q, id, last))
		}
	}
	l.lastFirst[q] = id
}

func (l *ledger) ack(id int) {
	l.mu.Lock()
	l.acked[id] = true
	l.mu.Unlock()
}

func (l *ledger) count(key string, n int64) {
	l.mu.Lock()
	l.extra[key] += n
	l.mu.Unlock()
}

// missing counts confirmed ids never delivered.
func (l *ledger) missing() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for id := range l.confirmed {
		if l.seen[id] == 0 {
			n++
		}
	}
	return n
}

// verdict is one face's result.
type verdict struct {
	name                        string
	ackDurable                  bool
	confirmed, lost, duplicated int
	backAcked, phantom, orderN  int
	lostIDs, orderBad           []string
	extra                       map[string]int64
}

func (l *ledger) verdict() verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := verdict{name: l.name, ackDurable: l.ackDurable, confirmed: len(l.confirmed), backAcked: l.backAcked,
		orderN: l.orderN, orderBad: l.orderBad, extra: l.extra}
	for id := range l.confirmed {
		if l.seen[id] == 0 {
			v.lost++
			if len(v.lostIDs) < 10 {
				v.lostIDs = append(v.lostIDs, strconv.Itoa(id))
			}
		}
	}
	for id, n := range l.seen {
		if n > 1 {
			v.duplicated += n - 1
		}
		if !l.confirmed[id] {
			v.phantom++
		}
	}
	return v
}

func (v verdict) line(crashes int, maxRecovery time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-8s confirmed=%-6d crashes=%-3d lost=%d duplicated=%d acked-then-redelivered=%d unconfirmed-delivered=%d order-violations=%d max-recovery=%s",
		v.name, v.confirmed, crashes, v.lost, v.duplicated, v.backAcked, v.phantom, v.orderN, maxRecovery.Round(time.Millisecond))
	for _, k := range slices.Sorted(maps.Keys(v.extra)) {
		fmt.Fprintf(&b, " %s=%d", k, v.extra[k])
	}
	return b.String()
}

// parseID reads "<prefix>-<n>" payloads.
func parseID(prefix string, body []byte) (int, bool) {
	s, ok := strings.CutPrefix(string(body), prefix+"-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
