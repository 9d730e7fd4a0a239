package awsgw

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Sequence numbers and shard iterators.
//
// A sequence number is 56 decimal digits, the length AWS's have:
//
//	"49" | epoch (12) | shard index (10) | 000000000000 (12) | offset (20)
//
// where epoch is the stream's creation time in milliseconds modulo 10^12
// (so a number from a deleted stream of the same name is told apart) and
// offset is the record's offset in the shard's core stream. Numbers grow
// with the offset within a shard, and a child shard (higher index) has
// higher numbers than its parents. A closed shard's EndingSequenceNumber
// carries the largest offset.
//
// An iterator is base64 of (version, issue time, vhost, stream, epoch,
// shard index, offset) and an HMAC-SHA256 over them with a key kept in
// the store: forged ones are refused, and it expires after 5 minutes as
// AWS's do.

const (
	seqEpochMod  = 1_000_000_000_000
	seqLen       = 56
	endOffsetSeq = math.MaxUint64 // the offset an EndingSequenceNumber carries
	iterVersion  = 1
	iterMACLen   = 16
)

// seqNumber formats the sequence number of offset off in shard idx.
func kinesisSeq(epoch uint64, idx int, off uint64) string {
	if idx < 0 || idx > 9_999_999_999 {
		return fmt.Sprintf("49%012d%010d%012d%020d", epoch%seqEpochMod, idx, 0, off)
	}
	var b [seqLen]byte
	b[0], b[1] = '4', '9'
	putDigits(b[2:14], epoch%seqEpochMod)
	putDigits(b[14:24], uint64(idx))
	putDigits(b[24:36], 0)
	putDigits(b[36:56], off)
	return string(b[:])
}

// putDigits writes v in decimal into all of dst, zero-padded on the
// left (v must fit).
func putDigits(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

// parseSeq reads a sequence number made by seqNumber.
func parseKinesisSeq(s string) (epoch uint64, idx int, off uint64, ok bool) {
	if len(s) != seqLen || s[:2] != "49" || s[24:36] != "000000000000" {
		return 0, 0, 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, 0, 0, false
		}
	}
	epoch, _ = strconv.ParseUint(s[2:14], 10, 64)
	i, _ := strconv.ParseUint(s[14:24], 10, 64)
	off, err := strconv.ParseUint(s[36:], 10, 64)
	if err != nil {
		off = math.MaxUint64 // beyond any offset
	}
	return epoch, int(i), off, i <= math.MaxInt32
}

// iterator is the decoded content of a shard iterator.
type iterator struct {
	issued time.Time
	vhost  string
	stream string
	epoch  uint64
	shard  int
	offset uint64
}

// encodeIterator signs and encodes it.
func encodeIterator(key []byte, it iterator) string {
	b := make([]byte, 0, 64+len(it.vhost)+len(it.stream))
	b = append(b, iterVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(it.issued.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, it.epoch)
	b = binary.BigEndian.AppendUint32(b, uint32(it.shard))
	b = binary.BigEndian.AppendUint64(b, it.offset)
	b = append(b, byte(len(it.vhost)))
	b = append(b, it.vhost...)
	b = append(b, byte(len(it.stream)))
	b = append(b, it.stream...)
	mac := hmac.New(sha256.New, key)
	mac.Write(b)
	b = mac.Sum(b)[:len(b)+iterMACLen]
	return base64.StdEncoding.EncodeToString(b)
}

// decodeIterator checks and decodes an iterator; ok is false for
// anything this server did not make.
func decodeIterator(key []byte, s string) (it iterator, ok bool) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	const fixed = 1 + 8 + 8 + 4 + 8
	if err != nil || len(b) < fixed+2+iterMACLen || b[0] != iterVersion {
		return it, false
	}
	body, sum := b[:len(b)-iterMACLen], b[len(b)-iterMACLen:]
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil)[:iterMACLen], sum) {
		return it, false
	}
	it.issued = time.UnixMilli(int64(binary.BigEndian.Uint64(body[1:])))
	it.epoch = binary.BigEndian.Uint64(body[9:])
	it.shard = int(binary.BigEndian.Uint32(body[17:]))
	it.offset = binary.BigEndian.Uint64(body[21:])
	rest := body[fixed:]
	var vhost, name []byte
	if vhost, rest, ok = lenPrefixed(rest); !ok {
		return it, false
	}
	if name, rest, ok = lenPrefixed(rest); !ok || len(rest) != 0 {
		return it, false
	}
	it.vhost, it.stream = string(vhost), string(name)
	return it, true
}

func lenPrefixed(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return nil, nil, false
	}
	return b[1 : 1+int(b[0])], b[1+int(b[0]):], true
}
