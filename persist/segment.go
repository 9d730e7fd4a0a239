package persist

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/junctionmq/junction/core/store"
)

// A stream is stored as segments: one value holds a run of records at
// consecutive offsets (one Append, or one AppendBatch such as a Kinesis
// PutRecords's records for one shard), under the key of its LAST offset,
// so that a forward seek to an offset lands on the segment holding it.
// Trim deletes the segments wholly below its offset (a segment straddling
// it stays, and StreamBounds reports the trim mark as the first offset).
//
// The segment layout (big-endian):
//
//	[0]        segVersion
//	[1:9]      offset of the first record
//	[9:13]     n, the number of records
//	[13:13+4n] end of each record in the data, so record i is
//	           data[end(i-1):end(i)] (end(-1) = 0): a seek inside a
//	           segment is one lookup, not a scan
//	[13+4n:]   data: the records, back to back
const (
	segVersion   = 1
	segHeaderLen = 13
	// segMaxBytes bounds a segment's value: AppendBatch starts a new
	// segment rather than pass it (a single larger record is a segment of
	// its own). It stays under Badger's in-memory ceiling of 1 MiB, and a
	// PutRecords of 500 records of 1 KiB fits in one.
	segMaxBytes = 1<<20 - 8<<10
)

// segmentLen is the encoded size of recs as one segment.
func segmentLen(recs [][]byte) int {
	n := segHeaderLen + 4*len(recs)
	for _, r := range recs {
		n += len(r)
	}
	return n
}

// encodeSegment returns recs, the first at offset first, as one segment.
func encodeSegment(first uint64, recs [][]byte) []byte {
	b := make([]byte, segHeaderLen+4*len(recs), segmentLen(recs))
	b[0] = segVersion
	binary.BigEndian.PutUint64(b[1:], first)
	binary.BigEndian.PutUint32(b[9:], uint32(len(recs)))
	end := 0
	for i, r := range recs {
		end += len(r)
		binary.BigEndian.PutUint32(b[segHeaderLen+4*i:], uint32(end))
		b = append(b, r...)
	}
	return b
}

// segment is a decoded segment header; its records are read in place.
type segment struct {
	first uint64
	ends  []byte // n big-endian uint32
	data  []byte
}

// parseSegment checks the header of a segment stored under last.
func parseSegment(last uint64, v []byte) (segment, error) {
	if len(v) < segHeaderLen || v[0] != segVersion {
		return segment{}, fmt.Errorf("persist: stream segment at %d: bad header: %w", last, store.ErrCorrupt)
	}
	s := segment{first: binary.BigEndian.Uint64(v[1:])}
	n := uint64(binary.BigEndian.Uint32(v[9:]))
	if n == 0 || s.first+n-1 != last || uint64(len(v)-segHeaderLen) < 4*n {
		return segment{}, fmt.Errorf("persist: stream segment at %d: %d records from %d: %w", last, n, s.first, store.ErrCorrupt)
	}
	s.ends, s.data = v[segHeaderLen:segHeaderLen+4*n], v[segHeaderLen+4*n:]
	if int(binary.BigEndian.Uint32(s.ends[4*(n-1):])) != len(s.data) {
		return segment{}, fmt.Errorf("persist: stream segment at %d: data length: %w", last, store.ErrCorrupt)
	}
	return s, nil
}

// each calls fn for the segment's records from offset from on, until fn
// returns false; it reports whether fn wanted more.
func (s segment) each(from uint64, fn func(off uint64, rec []byte) bool) (bool, error) {
	n := uint64(len(s.ends) / 4)
	i := uint64(0)
	if from > s.first {
		i = from - s.first
	}
	start := 0
	if i > 0 {
		start = int(binary.BigEndian.Uint32(s.ends[4*(i-1):]))
	}
	for ; i < n; i++ {
		end := int(binary.BigEndian.Uint32(s.ends[4*i:]))
		if end < start || end > len(s.data) {
			return false, fmt.Errorf("persist: stream segment from %d: record %d: %w", s.first, i, store.ErrCorrupt)
		}
		if !fn(s.first+i, s.data[start:end]) {
			return false, nil
		}
		start = end
	}
	return true, nil
}

// splitSegments cuts recs into runs whose segments stay within
// segMaxBytes (a run holds at least one record) and calls fn for each
// run with the offset of its first record.
func splitSegments(first uint64, recs [][]byte, fn func(first uint64, run [][]byte)) {
	start, size := 0, segHeaderLen
	for i, r := range recs {
		add := 4 + len(r)
		if i > start && size+add > segMaxBytes {
			fn(first+uint64(start), recs[start:i])
			start, size = i, segHeaderLen
		}
		size += add
	}
	if start < len(recs) {
		fn(first+uint64(start), recs[start:])
	}
}

// prefixRecordV1 is where format 1 kept streams: one key per record
// ("r/" esc(stream) 0x00 offset, the record as the value) and the trim
// mark ("r/" esc(stream) 0x00).
const prefixRecordV1 = "r/"

// migrateStreamsV1 moves format 1's records into segments of one record
// each (a record's offset is its segment's last, so the key's suffix is
// unchanged) and the trim marks along, under prefixRecord. It is
// idempotent: a crash midway leaves keys under both prefixes, and a
// rerun writes the same segments again and deletes the rest.
func migrateStreamsV1(bdb *badger.DB) error {
	return movePrefix(bdb, prefixRecordV1, prefixRecord, func(old, val []byte) ([]byte, error) {
		if isTrimMarkV1(old) {
			return val, nil
		}
		_, off, ok := splitSeqKey(prefixRecordV1, old)
		if !ok {
			return nil, fmt.Errorf("persist: bad stream record key %q: %w", old, store.ErrCorrupt)
		}
		return encodeSegment(off, [][]byte{val}), nil
	})
}

// isTrimMarkV1 reports whether a key under prefixRecordV1 is a trim mark:
// the escaped name (which holds no 0x00) ends at the key's last byte.
func isTrimMarkV1(k []byte) bool {
	return bytes.IndexByte(k[len(prefixRecordV1):], 0) == len(k)-len(prefixRecordV1)-1
}
