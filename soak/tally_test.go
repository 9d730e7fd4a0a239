package soak_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// tally is one face's account: ids its producer sent, the broker
// confirmed, and its consumers received. Unlike crash/'s ledger there is
// no order to check (consumers come and go, so deliveries of one queue
// interleave across them) and nothing is killed: a confirmed id that is
// never delivered is lost; one delivered twice (an unacked delivery of a
// dropped consumer, an SQS message whose visibility ran out) is counted.
type tally struct {
	name string
	next atomic.Int64 // the next id to send
	sent atomic.Int64 // ids handed to the client

	mu        sync.Mutex   // guards confirmed and seen
	confirmed map[int]bool // the broker confirmed it
	seen      map[int]int  // deliveries per id
}

func newTally(name string) *tally {
	return &tally{name: name, confirmed: map[int]bool{}, seen: map[int]int{}}
}

// ids reserves n consecutive ids and returns the first.
func (t *tally) ids(n int) int {
	t.sent.Add(int64(n))
	return int(t.next.Add(int64(n))) - n
}

func (t *tally) confirm(id int) {
	t.mu.Lock()
	t.confirmed[id] = true
	t.mu.Unlock()
}

// deliver records a payload "<prefix>-<id>"; false if it is not one.
func (t *tally) deliver(prefix string, body []byte) bool {
	s, ok := strings.CutPrefix(string(body), prefix+"-")
	if !ok {
		return false
	}
	id, err := strconv.Atoi(s)
	if err != nil {
		return false
	}
	t.mu.Lock()
	t.seen[id]++
	t.mu.Unlock()
	return true
}

// missing counts confirmed ids not delivered yet.
func (t *tally) missing() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for id := range t.confirmed {
		if t.seen[id] == 0 {
			n++
		}
	}
	return n
}

// missingIDs returns up to n confirmed ids not delivered, ascending.
func (t *tally) missingIDs(n int) []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ids []int
	for id := range t.confirmed {
		if t.seen[id] == 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids[:min(len(ids), n)]
}

// account is a face's final figures.
type account struct {
	name                                     string
	sent, confirmed, delivered, lost, dup, x int // x: delivered but never confirmed
}

func (t *tally) account() account {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := account{name: t.name, sent: int(t.sent.Load()), confirmed: len(t.confirmed)}
	for id := range t.confirmed {
		if t.seen[id] == 0 {
			a.lost++
		}
	}
	for id, n := range t.seen {
		a.delivered++
		a.dup += n - 1
		if !t.confirmed[id] {
			a.x++
		}
	}
	return a
}

func (a account) String() string {
	return fmt.Sprintf("%-8s sent=%-8d confirmed=%-8d delivered=%-8d lost=%d duplicated=%d unconfirmed-delivered=%d",
		a.name, a.sent, a.confirmed, a.delivered, a.lost, a.dup, a.x)
}
