package persist

import (
	"encoding/binary"
	"fmt"

	"github.com/junctionmq/junction/core/store"
)

// entryVersion is the first byte of an encoded queue entry.
const entryVersion = 1

// entrySize is the encoded size: version, MsgID, DeliveryCount, NotBefore,
// Priority.
const entrySize = 1 + 8 + 4 + 8 + 1

// appendEntry appends the value of a queue entry (its Seq is in the key).
func appendEntry(dst []byte, e store.Entry) []byte {
	dst = append(dst, entryVersion)
	dst = binary.BigEndian.AppendUint64(dst, e.MsgID)
	dst = binary.BigEndian.AppendUint32(dst, e.DeliveryCount)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.NotBefore))
	return append(dst, e.Priority)
}

// parseEntry decodes a value written by appendEntry.
func parseEntry(seq uint64, v []byte) (store.Entry, error) {
	if len(v) != entrySize || v[0] != entryVersion {
		return store.Entry{}, fmt.Errorf("persist: entry %d: bad value (%d bytes): %w", seq, len(v), store.ErrCorrupt)
	}
	return store.Entry{
		Seq:           seq,
		MsgID:         binary.BigEndian.Uint64(v[1:]),
		DeliveryCount: binary.BigEndian.Uint32(v[9:]),
		NotBefore:     int64(binary.BigEndian.Uint64(v[13:])),
		Priority:      v[21],
	}, nil
}
