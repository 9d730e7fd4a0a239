package stream

import (
	"errors"
	"fmt"
)

// Errors returned by streams and partitioned streams. Compare with errors.Is.
var (
	// ErrSealed means the stream (or partition) is sealed: it takes no more
	// appends, and a waiter positioned at its end will never see a record.
	ErrSealed = errors.New("stream: sealed")
	// ErrClosed means the Stream or Partitioned was closed.
	ErrClosed = errors.New("stream: closed")
	// ErrFailed means an earlier durable append failed; the stream refuses
	// appends until it is reopened from the store.
	ErrFailed = errors.New("stream: an earlier append failed")
	// ErrBadRecord means a stored record could not be decoded.
	ErrBadRecord = errors.New("stream: bad record")
	// ErrGap means the store is missing records the stream expected.
	ErrGap = errors.New("stream: records missing from store")
	// ErrInvalidStart means a Start spec has an unknown kind.
	ErrInvalidStart = errors.New("stream: invalid start position")
	// ErrPartitionNotFound means no partition has the given id.
	ErrPartitionNotFound = errors.New("stream: partition not found")
	// ErrPartitionSealed means the partition was already split or merged
	// (or otherwise sealed) and cannot be split or merged again.
	ErrPartitionSealed = errors.New("stream: partition already sealed")
	// ErrNotAdjacent means two partitions to merge do not own adjacent
	// hash-key ranges.
	ErrNotAdjacent = errors.New("stream: partitions are not adjacent")
	// ErrInvalidHashKey means a hash key is not a decimal integer in
	// [0, 2^128), or a split key is outside the partition's range.
	ErrInvalidHashKey = errors.New("stream: invalid hash key")
	// ErrInvalidCount means a partition count is below 1.
	ErrInvalidCount = errors.New("stream: invalid partition count")
	// ErrBadDefinition means a partitioned stream's definition record is
	// malformed or inconsistent.
	ErrBadDefinition = errors.New("stream: bad definition")
)

// PartitionError is returned by Split and Merge. It names the operation and
// the partition at fault and wraps one of the sentinels above (errors.Is
// works through it).
type PartitionError struct {
	Op        string // "split" or "merge"
	Partition string // the partition id at fault
	Err       error  // ErrPartitionNotFound, ErrPartitionSealed, ErrNotAdjacent, ErrInvalidHashKey
}

// Error implements error.
func (e *PartitionError) Error() string {
	return fmt.Sprintf("stream: %s %s: %v", e.Op, e.Partition, e.Err)
}

// Unwrap returns the sentinel.
func (e *PartitionError) Unwrap() error { return e.Err }
