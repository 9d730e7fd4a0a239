// Package queue is the core's queue: it holds messages, hands them to
// consumers (push), to basic.get and long-poll callers (pull) and to SQS
// receivers (leases with a visibility deadline), and settles them by ack,
// nack, requeue, expiry and dead-lettering. It knows no wire protocol.
//
// One message's path: the router calls Publish → the entry goes to a
// ready level (a ring buffer per priority, kept in seq order) → dispatch
// picks a consumer with credit (consumer priority, then round-robin; or
// the single active consumer) → Consumer.Deliver under the queue's lock →
// the face calls Ack(seq) → the entry returns to the queue's free list.
// The transient path allocates nothing.
//
// Locks: each queue has one mutex (Queue.mu). A Limiter's mutex may be
// taken under it; never the other way round, and never a queue lock under
// another queue's. Everything that may call back into queues — dead-letter
// republishing, OnExpire, OnAutoDelete, waking queues blocked on a
// limiter, Cancelled — runs after the lock is released.
//
// Timers: a queue arms at most one timer on its Clock, only while it has a
// deadline (message TTL at a ready head, delayed messages, leases,
// x-expires). ManualClock drives them deterministically in tests.
//
// Paging (page.go): while memory runs short, PageOut moves the bodies of
// ready transient messages to the store (store.Pager) and keeps stub
// entries; take pages stubs back in, a thousand at a time, before they are
// delivered. Pages do not survive a restart.
//
// SQS receives are leases: Lease hands out deliveries with a deadline,
// AckLease and ChangeLeaseIf settle or extend only the receive whose
// delivery count they name (ErrStaleDelivery for an older one), PurgeAll
// drops in-flight messages too, SetOptions changes delay, retention, redrive
// and deduplication on a live queue, and Deduplicated names the message a
// duplicate publish is answered with.
//
// Semantics follow RabbitMQ 3.13 classic queues (quorum where the type
// says so: delivery limit 20 by default, two priority levels) and SQS for
// leases, delays, FIFO groups, deduplication and redrive.
package queue
