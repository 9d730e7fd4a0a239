// Package stream implements append-only streams (AMQP stream queues, one
// Kinesis shard each) and partitioned streams (Kinesis streams).
//
// A Stream assigns dense offsets 0, 1, 2, ... and a non-decreasing arrival
// time to each record, and writes it through store.Store.Append, which
// group-commits: the caller's Done fires once the record is durable, and
// only then can readers see it. The newest records stay in a bounded
// in-memory tail cache; older reads go to the store. A sparse index of
// (offset, arrival, cumulative bytes), one mark every IndexInterval
// records, makes seeking by time and trimming by age or size a binary
// search plus a scan of at most one interval.
//
// Readers are plain positions: Stream.Read(from, ...) returns records and
// the next offset; Reader wraps a position for one consumer. Stream.Wait
// and Stream.Notify wake a reader when a record becomes durable, without
// polling. Reading below the first offset (after retention trimmed the
// head) starts at the first record, and the caller can tell: Reader.Skipped.
//
// Retention (age and bytes) is applied by Stream.Enforce, which a shared
// Retainer calls on one timer for every stream.
//
// A Partitioned stream divides the 128-bit hash-key space (MD5 of the
// partition key, as Kinesis) among partitions. Split and Merge seal
// partitions and create children carrying parent links; sealed partitions
// stay readable until retention empties them (Prune). The caller persists
// the Definition with Save and reopens it with OpenPartitioned.
//
// Lock order: Partitioned.mu, then Stream.trimMu, then Stream.mu, then
// Stream.wmu. Retainer.mu is never held while calling a Stream.
package stream
