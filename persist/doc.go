// Package persist is Junction's durable store: one Badger database under the
// data directory, and the only package that imports Badger. DB implements
// store.Store.
//
// # Layout
//
// The data directory holds LOCK (an advisory lock held while open),
// store/ (the Badger files) and streams/ (segment files: stream segments
// written by WriteSegment, which Badger references; segment_file.go). Keys, where esc(name) is the name with 0x00
// written as 0x01 0x01 and 0x01 as 0x01 0x02 (so an escaped name holds no
// 0x00 and a scan of one name never reaches another that it prefixes):
//
//	!format                           format version, uint32 big-endian
//	d/esc(kind) 0x00 key              definition record
//	s/esc(ns) 0x00 key                face state record
//	m/msgID (8 bytes big-endian)      encoded message, stored once
//	q/esc(queue) 0x00 seq (8 bytes)   queue entry (see entry.go)
//	g/esc(stream) 0x00 offset (8)     stream segment: records up to offset (segment.go),
//	                                  or (user meta segRefMeta) a reference to one in streams/
//	g/esc(stream) 0x00                stream trim mark (first offset kept)
//	p/esc(queue) 0x00 seq (8 bytes)   transient message paged out (page.go), dropped at Open
//
// # Writes
//
// Queue and stream writes are group-committed by one writer goroutine
// (writer.go): callers append to a pending slice and signal it; it swaps the
// slice out, plans the batch against its in-memory index of entries and
// message reference counts (an Enqueue and a Remove of one entry in one
// batch cancel out, and so does an Update a Remove follows), writes it in
// one Badger transaction (more when it passes Badger's limits), syncs
// once, then calls each Done in submission order. The sync is an
// fdatasync of the memtable log, and of the value log only when the batch
// or something before it wrote there (syncBatch): values under the
// threshold never do. While consumers acknowledge messages before they
// reach the disk, an acknowledgement cancels its Enqueue still pending
// (confirmed at once, nothing written), and a batch takes only the ops
// before the first Enqueue younger than AckLinger, so that the young ones
// wait for their acknowledgements (dueLocked); a persistent message is
// encoded only when written (EnqueueMessage). Definitions and state
// records are written synchronously. A Kinesis PutRecords's segment skips the queue
// (WriteSegment): its caller writes it to a segment file, syncs that, and
// writes its reference into Badger, and only the sync of Badger's log is
// queued (opSync), so one batch is written while the previous is synced.
package persist
