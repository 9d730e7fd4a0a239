// Package store declares the durable store the core writes through. The one
// implementation is persist.DB (Badger); the core never imports Badger.
//
// Writes of messages and stream records are asynchronous and group-committed:
// the call only queues the operation (it never blocks on I/O, so it may be
// made under a queue's lock) and Done is called once, from the store's writer
// goroutine, after the batch holding it is fsynced (or failed). Done must not
// block. Operations are applied in the order they were submitted, so an
// Enqueue submitted before a Remove of the same entry is never reordered.
// An Enqueue and a Remove of the same entry that meet in one batch cancel
// out before the disk.
//
// Definitions and state records are small and written synchronously, except
// through StateBatcher, whose batches of state writes are group-committed
// like messages.
package store

import (
	"errors"

	"github.com/junctionmq/junction/core/message"
)

// Errors the store returns; the faces map them to their protocol's answer.
var (
	// ErrDiskFull means a write failed for lack of space; nothing confirmed was lost.
	ErrDiskFull = errors.New("store: disk full")
	// ErrClosed means the store was closed before the operation ran.
	ErrClosed = errors.New("store: closed")
	// ErrLocked means another process holds the data directory.
	ErrLocked = errors.New("store: data directory locked by another process")
	// ErrNewerFormat means the data directory was written by a newer Junction.
	ErrNewerFormat = errors.New("store: data directory has a newer format version")
	// ErrCorrupt means a store file is damaged; the error names the file.
	ErrCorrupt = errors.New("store: corrupt")
)

// Done is called once an operation is durable (err == nil) or has failed.
type Done func(err error)

// Entry is a queue's durable reference to a stored message.
type Entry struct {
	Seq           uint64 // position in the queue, strictly increasing per queue
	MsgID         uint64 // the stored message (message.Message.ID)
	DeliveryCount uint32 // deliveries so far (SQS ApproximateReceiveCount)
	NotBefore     int64  // unix nanos: leased until or delayed until; 0 = ready
	Priority      uint8
	FirstReceived int64 // unix nanos of the first lease (SQS ApproximateFirstReceiveTimestamp); 0 = never
}

// StateOp is one write of a face state record in a StateBatcher batch: a put
// of Val under NS and Key, or a delete when Delete is set.
type StateOp struct {
	NS, Key string
	Val     []byte
	Delete  bool
}

// StateBatcher is implemented by stores that can write face state
// asynchronously and group-committed (persist.DB does). Faces that must make
// state durable before they acknowledge (an MQTT PUBACK for copies queued to
// persistent sessions) use it instead of one synchronous PutState per record.
type StateBatcher interface {
	// PutStates queues ops, which are applied in order within one batch
	// (a crash keeps a prefix of them), and calls done once they are durable
	// or have failed. Like Enqueue it never blocks on I/O. Its order
	// relative to synchronous PutState and DeleteState calls is unspecified.
	PutStates(ops []StateOp, done Done)
}

// Pager is implemented by stores that can hold the encoded bodies of
// transient messages while memory runs short (persist.DB does): a queue
// pages the message out, keeps a stub, and pages it back in before it
// delivers it. Paged messages are not durable: the store drops them all
// when it is opened, so a transient message never survives a restart.
// The writes share the group commit and the submission order of the
// store's other writes; queue names are opaque keys chosen by the caller.
type Pager interface {
	// PageOut stores data (message.Marshal output) under queue and seq.
	// It never blocks on I/O; done is called once the write is committed
	// (or failed). data must not change until then.
	PageOut(queue string, seq uint64, data []byte, done Done)
	// PageIn reads the committed pages of seqs (ascending) and calls fn
	// with the index in seqs and the data of each one found; fn must not
	// retain data. Seqs without a page are skipped.
	PageIn(queue string, seqs []uint64, fn func(i int, data []byte)) error
	// RemovePaged deletes one page (paged back in, acked, expired, purged).
	RemovePaged(queue string, seq uint64, done Done)
	// DropPaged deletes every page of queue (the queue was deleted).
	DropPaged(queue string, done Done)
}

// Store is the broker's durable state. Queue and stream names are keys chosen
// by the core (vhost and name joined); the store treats them as opaque.
type Store interface {
	// Enqueue adds e to queue. data is the encoded message
	// (message.Marshal); a message referenced by several queues is stored
	// once: the store keeps a reference count per MsgID and writes data only
	// for the first reference (callers may pass the same slice each time).
	Enqueue(queue string, e Entry, data []byte, done Done)
	// Update rewrites an entry's DeliveryCount, NotBefore and FirstReceived.
	Update(queue string, e Entry, done Done)
	// Remove deletes an entry (ack, expiry, dead-lettering, purge of one);
	// the message is deleted with its last reference.
	Remove(queue string, seq uint64, done Done)
	// DropQueue removes every entry of a queue.
	DropQueue(queue string, done Done)
	// Messages calls fn for each entry of queue in Seq order, with its
	// encoded message. Used at recovery; fn must not retain data.
	Messages(queue string, fn func(e Entry, data []byte) error) error

	// Append adds a record at offset to a stream (offsets are dense and
	// assigned by the core).
	Append(stream string, offset uint64, rec []byte, done Done)
	// Trim deletes a stream's records below offset.
	Trim(stream string, below uint64, done Done)
	// DropStream deletes a stream's records.
	DropStream(stream string, done Done)
	// Records calls fn for records of stream from offset on, in order,
	// until fn returns false. fn must not retain rec.
	Records(stream string, from uint64, fn func(offset uint64, rec []byte) bool) error
	// StreamBounds returns the first and next offsets of a stream (equal when empty).
	StreamBounds(stream string) (first, next uint64, err error)

	// PutDef durably stores a definition record (kind is a short name such
	// as "vhost", "exchange", "queue", "binding", "user", "policy").
	PutDef(kind, key string, val []byte) error
	// DeleteDef removes a definition record.
	DeleteDef(kind, key string) error
	// Defs calls fn for every record of a kind, in key order.
	Defs(kind string, fn func(key string, val []byte) error) error

	// PutState, DeleteState and States are the same for face state such as
	// MQTT sessions, subscriptions, retained and in-flight messages
	// (namespace "mqtt/session", …). PutState is durable when it returns.
	PutState(ns, key string, val []byte) error
	DeleteState(ns, key string) error
	States(ns string, fn func(key string, val []byte) error) error

	// Flush waits until everything submitted so far is durable.
	Flush() error
	// Close flushes and closes the store.
	Close() error
}

// WrittenWaiter is a Store that can wait for the write of what was
// submitted without waiting for its sync (persist.DB can). A written
// operation survives the end of the process (kill -9) but may be lost to a
// power cut until the store syncs it, which it does within a bounded time.
// The SQS face answers DeleteMessage once its delete is written: a deleted
// message that comes back after a power cut is an at-least-once
// redelivery, which SQS allows.
type WrittenWaiter interface {
	// Written waits until everything submitted so far is written, except
	// Updates submitted without a Done, which the store may hold back a
	// few milliseconds for a Remove to supersede.
	Written() error
}

// MessageEnqueuer is a Store that encodes an enqueued message itself, and
// only if it writes it: an Enqueue that a Remove cancels before the disk
// (a consumer acknowledged the message first) then never pays for the
// encoding. m must not change once enqueued; the encoding is
// message.Marshal's.
type MessageEnqueuer interface {
	EnqueueMessage(queue string, e Entry, m *message.Message, done Done)
}
