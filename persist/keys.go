package persist

import (
	"encoding/binary"
	"strings"
)

// Key prefixes; see doc.go for the layout.
const (
	formatKey    = "!format"
	prefixDef    = "d/"
	prefixState  = "s/"
	prefixMsg    = "m/"
	prefixQueue  = "q/"
	prefixRecord = "g/" // stream segments (segment.go); format 1 kept records under "r/"
	prefixPaged  = "p/"
)

// appendName appends name escaped so it holds no 0x00, then the 0x00
// terminator. Escaping keeps byte order among names.
func appendName(dst []byte, name string) []byte {
	if !strings.ContainsAny(name, "\x00\x01") {
		return append(append(dst, name...), 0)
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case 0:
			dst = append(dst, 1, 1)
		case 1:
			dst = append(dst, 1, 2)
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, 0)
}

// parseName undoes appendName on b (without the terminator).
func parseName(b []byte) (string, bool) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != 1 {
			out = append(out, b[i])
			continue
		}
		if i+1 == len(b) || (b[i+1] != 1 && b[i+1] != 2) {
			return "", false
		}
		out = append(out, b[i+1]-1)
		i++
	}
	return string(out), true
}

// namePrefix is prefix + esc(name) + 0x00.
func namePrefix(prefix, name string) []byte { return namePrefixRoom(prefix, name, 0) }

// namePrefixRoom is namePrefix in a slice with room for extra more bytes,
// so that a key is one allocation: escaped bytes (0 and 1, as in the
// vhost and name separator of the core's queue names) take two.
func namePrefixRoom(prefix, name string, extra int) []byte {
	n := len(prefix) + len(name) + 1 + extra
	for i := 0; i < len(name); i++ {
		if name[i] <= 1 {
			n++
		}
	}
	return appendName(append(make([]byte, 0, n), prefix...), name)
}

// seqKey is namePrefix followed by n big-endian.
func seqKey(prefix, name string, n uint64) []byte {
	return binary.BigEndian.AppendUint64(namePrefixRoom(prefix, name, 8), n)
}

func entryKey(queue string, seq uint64) []byte { return seqKey(prefixQueue, queue, seq) }

func recordKey(stream string, off uint64) []byte { return seqKey(prefixRecord, stream, off) }

// msgKey is prefixMsg + id big-endian, in one allocation (appending to
// []byte(prefixMsg) took two: the conversion, then the growth).
func msgKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, len(prefixMsg)+8), prefixMsg...), id)
}

// splitSeqKey parses a key made by seqKey under prefix.
func splitSeqKey(prefix string, key []byte) (name string, n uint64, ok bool) {
	if len(key) < len(prefix)+9 || string(key[:len(prefix)]) != prefix || key[len(key)-9] != 0 {
		return "", 0, false
	}
	name, ok = parseName(key[len(prefix) : len(key)-9])
	return name, binary.BigEndian.Uint64(key[len(key)-8:]), ok
}

// recordKeyDef is the key of a definition or state record.
func recordKeyDef(prefix, group, key string) []byte {
	return append(namePrefixRoom(prefix, group, len(key)), key...)
}
