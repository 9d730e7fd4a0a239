package stream

import (
	"encoding/binary"
	"fmt"
)

// Kind says what a record's Data holds.
type Kind uint8

// The record kinds.
const (
	// KindRaw is opaque bytes (a Kinesis data blob, for instance).
	KindRaw Kind = iota
	// KindMessage is an encoded message.Message (message.Marshal).
	KindMessage
)

// Record is one entry of a stream. Data is shared with the stream's cache
// and with other readers: callers must not modify it.
type Record struct {
	Offset  uint64 // dense position in the stream: 0, 1, 2, ...
	Arrived int64  // unix nanoseconds when the stream accepted it (non-decreasing)
	Kind    Kind
	Data    []byte
}

// Size is the record's accounting size in bytes for retention (its data,
// as RabbitMQ counts x-max-length-bytes).
func (r *Record) Size() int { return len(r.Data) }

// The stored record layout (big-endian):
//
//	[0]     version (recordVersion)
//	[1]     kind
//	[2:10]  offset
//	[10:18] arrival, unix nanoseconds
//	[18:]   data
const (
	recordVersion = 1
	headerLen     = 18
)

// encodeRecord returns the stored form of r. r.Data of the result aliases
// the returned buffer, so the cache and the store share one allocation.
func encodeRecord(off uint64, ts int64, kind Kind, data []byte) (enc []byte, r Record) {
	enc = make([]byte, headerLen+len(data))
	enc[0] = recordVersion
	enc[1] = byte(kind)
	binary.BigEndian.PutUint64(enc[2:], off)
	binary.BigEndian.PutUint64(enc[10:], uint64(ts))
	copy(enc[headerLen:], data)
	return enc, Record{Offset: off, Arrived: ts, Kind: kind, Data: enc[headerLen:]}
}

// encodeRecords returns the stored forms of data's records, at offsets
// from first on, in one allocation.
func encodeRecords(first uint64, ts int64, kind Kind, data [][]byte) [][]byte {
	size := 0
	for _, d := range data {
		size += headerLen + len(d)
	}
	buf := make([]byte, size)
	encs := make([][]byte, len(data))
	for i, d := range data {
		enc := buf[: headerLen+len(d) : headerLen+len(d)]
		buf = buf[len(enc):]
		encodeRecordInto(enc, first+uint64(i), ts, kind, d)
		encs[i] = enc
	}
	return encs
}

// encodeRecordInto writes the stored form of a record into enc, which is
// exactly headerLen+len(data) bytes.
func encodeRecordInto(enc []byte, off uint64, ts int64, kind Kind, data []byte) {
	enc[0] = recordVersion
	enc[1] = byte(kind)
	binary.BigEndian.PutUint64(enc[2:], off)
	binary.BigEndian.PutUint64(enc[10:], uint64(ts))
	copy(enc[headerLen:], data)
}

// decodeRecord parses a stored record found at off. Data aliases enc.
func decodeRecord(off uint64, enc []byte) (Record, error) {
	if len(enc) < headerLen || enc[0] != recordVersion {
		return Record{}, fmt.Errorf("%w: offset %d: bad header", ErrBadRecord, off)
	}
	if got := binary.BigEndian.Uint64(enc[2:]); got != off {
		return Record{}, fmt.Errorf("%w: stored at %d but says %d", ErrBadRecord, off, got)
	}
	return Record{
		Offset:  off,
		Arrived: int64(binary.BigEndian.Uint64(enc[10:])),
		Kind:    Kind(enc[1]),
		Data:    enc[headerLen:],
	}, nil
}
