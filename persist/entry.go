package persist

import (
	"encoding/binary"
	"fmt"

	"github.com/junctionmq/junction/core/store"
)

// Queue entry encodings, told apart by their first byte. Version 2 adds
// FirstReceived; an entry that has none is still written as version 1, so
// entries of messages never leased stay readable by older releases.
const (
	entryVersion1 = 1 // version, MsgID, DeliveryCount, NotBefore, Priority
	entryVersion2 = 2 // version 1's fields, then FirstReceived
)

// The encoded sizes of each version.
const (
	entrySize  = 1 + 8 + 4 + 8 + 1
	entrySize2 = entrySize + 8
)

// appendEntry appends the value of a queue entry (its Seq is in the key).
func appendEntry(dst []byte, e store.Entry) []byte {
	v := byte(entryVersion1)
	if e.FirstReceived != 0 {
		v = entryVersion2
	}
	dst = append(dst, v)
	dst = binary.BigEndian.AppendUint64(dst, e.MsgID)
	dst = binary.BigEndian.AppendUint32(dst, e.DeliveryCount)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.NotBefore))
	dst = append(dst, e.Priority)
	if v == entryVersion2 {
		dst = binary.BigEndian.AppendUint64(dst, uint64(e.FirstReceived))
	}
	return dst
}

// parseEntry decodes a value written by appendEntry, of either version
// (version 1 entries have no FirstReceived: it decodes as 0).
func parseEntry(seq uint64, v []byte) (store.Entry, error) {
	ok := len(v) == entrySize && v[0] == entryVersion1 || len(v) == entrySize2 && v[0] == entryVersion2
	if !ok {
		return store.Entry{}, fmt.Errorf("persist: entry %d: bad value (%d bytes): %w", seq, len(v), store.ErrCorrupt)
	}
	e := store.Entry{
		Seq:           seq,
		MsgID:         binary.BigEndian.Uint64(v[1:]),
		DeliveryCount: binary.BigEndian.Uint32(v[9:]),
		NotBefore:     int64(binary.BigEndian.Uint64(v[13:])),
		Priority:      v[21],
	}
	if v[0] == entryVersion2 {
		e.FirstReceived = int64(binary.BigEndian.Uint64(v[22:]))
	}
	return e, nil
}
