// Package tally counts messages per face for the metrics endpoint:
// messages handed to clients, acknowledged by them, and dropped by the
// broker, by reason. Each count is one atomic add where the face or the
// queue makes the decision; nothing locks or allocates. Every method is
// safe on a nil *Face (a face run without a broker's tallies counts
// nothing).
package tally

import (
	"sync/atomic"

	"github.com/junctionmq/junction/core/message"
)

// Reason is why the broker dropped a message instead of delivering it.
type Reason uint8

// The reasons. The queue reasons are RabbitMQ's dead-letter reasons,
// counted only when the message is not dead-lettered (no dead-letter
// exchange, or a dead-letter cycle), as RabbitMQ counts
// dead_letter_strategy="disabled".
const (
	Unroutable    Reason = iota // published where no queue or stream takes it (not returned to the publisher)
	Expired                     // its TTL (or MQTT message expiry) passed before delivery
	MaxLen                      // a full queue's x-max-length overflow (drop-head or reject-publish)
	Rejected                    // rejected or nacked by a consumer without requeue
	DeliveryLimit               // delivered more times than x-delivery-limit or the SQS maxReceiveCount allows
	SlowClient                  // a subscriber's outbound queue or in-flight window was full (MQTT)
	PushFailed                  // an SNS push given up after its retries, with no dead-letter queue
	NumReasons
)

var reasonNames = [NumReasons]string{"unroutable", "expired", "maxlen", "rejected", "delivery_limit",
	"slow_client", "push_failed"}

func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// NumFaces bounds the message.Face values counted; an unknown face counts
// as core.
const NumFaces = int(message.FaceKinesis) + 1

// Faces holds one Face per message.Face.
type Faces struct {
	f [NumFaces]Face
}

// Face returns f's counters (nil when t is nil).
func (t *Faces) Face(f message.Face) *Face {
	if t == nil {
		return nil
	}
	if int(f) >= NumFaces {
		f = message.FaceCore
	}
	return &t.f[f]
}

// Face counts one face's messages.
type Face struct {
	delivered, acked, redelivered, deadLettered atomic.Uint64
	dropped                                     [NumReasons]atomic.Uint64
	_                                           [128 - (4+int(NumReasons))*8]byte // one face per pair of cache lines: faces count from different cores
}

// Delivered adds n messages handed to the face's clients.
func (c *Face) Delivered(n int) {
	if c != nil && n > 0 {
		c.delivered.Add(uint64(n))
	}
}

// Acked adds n messages the face's clients acknowledged.
func (c *Face) Acked(n int) {
	if c != nil && n > 0 {
		c.acked.Add(uint64(n))
	}
}

// Redelivered adds n messages handed to the face's clients that were
// delivered before (a subset of Delivered).
func (c *Face) Redelivered(n int) {
	if c != nil && n > 0 {
		c.redelivered.Add(uint64(n))
	}
}

// DeadLettered adds n messages that entered by the face and were
// dead-lettered by a queue (republished to its dead-letter exchange).
func (c *Face) DeadLettered(n int) {
	if c != nil && n > 0 {
		c.deadLettered.Add(uint64(n))
	}
}

// Dropped adds n messages dropped for reason r.
func (c *Face) Dropped(r Reason, n int) {
	if c != nil && n > 0 && r < NumReasons {
		c.dropped[r].Add(uint64(n))
	}
}

// Counts are a snapshot of a Face.
type Counts struct {
	Delivered, Acked, Redelivered, DeadLettered uint64
	Dropped                                     [NumReasons]uint64
}

// Counts returns the face's totals.
func (c *Face) Counts() Counts {
	var n Counts
	if c == nil {
		return n
	}
	n.Delivered, n.Acked = c.delivered.Load(), c.acked.Load()
	n.Redelivered, n.DeadLettered = c.redelivered.Load(), c.deadLettered.Load()
	for i := range n.Dropped {
		n.Dropped[i] = c.dropped[i].Load()
	}
	return n
}
