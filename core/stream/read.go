package stream

import (
	"context"
	"fmt"
	"time"
)

// StartKind names where a reader starts.
type StartKind uint8

// The start kinds.
const (
	// StartFirst is the oldest record held (Kinesis TRIM_HORIZON, AMQP "first").
	StartFirst StartKind = iota
	// StartLast is the newest record (AMQP "last"); on an empty stream, next.
	StartLast
	// StartNext is only records appended from now on (Kinesis LATEST, AMQP "next").
	StartNext
	// StartOffset is Start.Offset (clamped to the stream's bounds).
	StartOffset
	// StartTime is the first record that arrived at or after Start.Time
	// (Kinesis AT_TIMESTAMP, AMQP timestamp offset).
	StartTime
)

// Start says where a reader starts.
type Start struct {
	Kind   StartKind
	Offset uint64    // for StartOffset
	Time   time.Time // for StartTime
}

// Resolve turns a Start into an offset. Offsets below the first record
// resolve to the first; offsets past the end resolve to the end.
func (s *Stream) Resolve(sp Start) (uint64, error) {
	s.mu.RLock()
	first, next := s.first, s.next
	s.mu.RUnlock()
	durable := max(first, s.durable.Load())
	switch sp.Kind {
	case StartFirst:
		return first, nil
	case StartLast:
		if durable > first {
			return durable - 1, nil
		}
		return durable, nil
	case StartNext:
		return next, nil
	case StartOffset:
		return min(max(sp.Offset, first), next), nil
	case StartTime:
		return s.SeekTime(sp.Time)
	}
	return 0, fmt.Errorf("%w: kind %d", ErrInvalidStart, sp.Kind)
}

// SeekTime returns the offset of the first readable record that arrived at
// or after t, or the end offset if none did. It binary-searches the sparse
// index and then scans at most one index interval.
func (s *Stream) SeekTime(t time.Time) (uint64, error) {
	ts := t.UnixNano()
	s.mu.RLock()
	from := s.first
	if m, ok := s.idx.beforeTime(ts); ok && m.off > from {
		from = m.off
	}
	s.mu.RUnlock()
	lim := s.durable.Load()
	found := max(from, lim)
	err := s.walk(from, lim, func(r Record, _ bool) bool {
		if r.Arrived >= ts {
			found = r.Offset
			return false
		}
		return true
	})
	return found, err
}

// Read returns up to max records (0 = no limit) from offset from on,
// stopping before maxBytes of data is exceeded (0 = no limit; at least one
// record is returned if any is readable), and the offset to read next.
// Reading below the first offset starts at the first; the caller sees the
// records were trimmed when the first returned Offset (or next, if none
// were returned) is above from.
func (s *Stream) Read(from uint64, maxN, maxBytes int) ([]Record, uint64, error) {
	s.mu.RLock()
	from = max(from, s.first)
	s.mu.RUnlock()
	lim := s.durable.Load()
	if from >= lim {
		return nil, from, nil
	}
	n := int(min(lim-from, 256))
	if maxN > 0 {
		n = min(n, maxN)
	}
	out := make([]Record, 0, n)
	next, size := from, 0
	err := s.walk(from, lim, func(r Record, cached bool) bool {
		if maxBytes > 0 && len(out) > 0 && size+r.Size() > maxBytes {
			return false
		}
		if !cached {
			r.Data = append([]byte(nil), r.Data...)
		}
		out = append(out, r)
		size += r.Size()
		next = r.Offset + 1
		return maxN <= 0 || len(out) < maxN
	})
	if len(out) == 0 {
		// Everything below lim may have been trimmed meanwhile.
		s.mu.RLock()
		next = max(from, min(s.first, lim))
		s.mu.RUnlock()
	}
	return out, next, err
}

// walk calls fn for each readable record from pos up to lim, in offset
// order, until fn returns false. Records trimmed meanwhile are skipped.
// cached tells fn whether r.Data belongs to the cache (immutable, may be
// kept) or to the store (valid only during the call). fn runs under the
// read lock for cached records: it must not call the Stream.
func (s *Stream) walk(pos, lim uint64, fn func(r Record, cached bool) bool) error {
	for pos < lim {
		s.mu.RLock()
		pos = max(pos, s.first)
		cf, ok := s.tail.first()
		if ok && pos >= cf {
			for ; pos < lim; pos++ {
				r, ok := s.tail.at(pos)
				if !ok || !fn(r, true) {
					break
				}
			}
			s.mu.RUnlock()
			return nil
		}
		end := lim
		if ok {
			end = min(end, cf)
		}
		s.mu.RUnlock()
		if pos >= end {
			continue
		}
		var derr error
		start, stopped := pos, false
		err := s.st.Records(s.name, pos, func(off uint64, enc []byte) bool {
			if off >= end {
				return false
			}
			r, err := decodeRecord(off, enc)
			if err != nil {
				derr = err
				return false
			}
			pos = off + 1
			stopped = !fn(r, false)
			return !stopped
		})
		if err == nil {
			err = derr
		}
		if err != nil {
			return fmt.Errorf("stream %s: read at %d: %w", s.name, start, err)
		}
		if stopped {
			return nil
		}
		if pos < end && pos == start && s.firstOffset() <= pos {
			return fmt.Errorf("%w: stream %s: offset %d", ErrGap, s.name, pos)
		}
	}
	return nil
}

func (s *Stream) firstOffset() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.first
}

// Wait blocks until a record at or after offset from is readable, and
// returns nil; or returns ErrSealed once the stream is sealed and from is
// at its end, ErrClosed once it is closed, or ctx's error. Trimmed offsets
// count as readable (a read from them starts at the first record).
func (s *Stream) Wait(ctx context.Context, from uint64) error {
	for {
		ch := s.Notify()
		s.mu.RLock()
		closed, sealed, next := s.closed, s.sealed, s.next
		s.mu.RUnlock()
		if s.durable.Load() > from {
			return nil
		}
		switch {
		case closed:
			return ErrClosed
		case sealed && from >= next:
			return ErrSealed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Reader reads a stream from its own position. A Reader is used by one
// goroutine at a time; many Readers may share a Stream.
type Reader struct {
	s       *Stream
	pos     uint64
	skipped uint64
}

// NewReader returns a reader positioned at sp.
func (s *Stream) NewReader(sp Start) (*Reader, error) {
	pos, err := s.Resolve(sp)
	if err != nil {
		return nil, err
	}
	return &Reader{s: s, pos: pos}, nil
}

// Seek moves the reader to sp.
func (r *Reader) Seek(sp Start) error {
	pos, err := r.s.Resolve(sp)
	if err != nil {
		return err
	}
	r.pos, r.skipped = pos, 0
	return nil
}

// Position returns the offset the next Read starts at.
func (r *Reader) Position() uint64 { return r.pos }

// Skipped returns how many records the last Read jumped over because
// retention had trimmed them (0 if none).
func (r *Reader) Skipped() uint64 { return r.skipped }

// Read returns the next records (see Stream.Read) and advances.
func (r *Reader) Read(maxN, maxBytes int) ([]Record, error) {
	recs, next, err := r.s.Read(r.pos, maxN, maxBytes)
	r.skipped = 0
	start := next
	if len(recs) > 0 {
		start = recs[0].Offset
	}
	if start > r.pos {
		r.skipped = start - r.pos
	}
	r.pos = next
	return recs, err
}

// Wait blocks until the reader has something to read (see Stream.Wait).
func (r *Reader) Wait(ctx context.Context) error { return r.s.Wait(ctx, r.pos) }
