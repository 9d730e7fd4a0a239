package awsgw

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Sequence numbers and shard iterators.
//
// A sequence number is 56 decimal digits, the length AWS's have:
//
//	"49" | epoch (12) | shard index (10) | 000000000001 (12) | position (20)
//
// where epoch is the stream's creation time in milliseconds modulo 10^12
// (so a number from a deleted stream of the same name is told apart) and
// position is a place in the shard's core stream: the record at offset o
// has position o+1, and position p (a shard's StartingSequenceNumber, or
// the continuation number of a subscription that has pushed nothing yet)
// stands before the record at offset p. So, as on AWS, every record's
// number is above its shard's StartingSequenceNumber, AT_SEQUENCE_NUMBER
// of a position reads from the record at offset max(p,1)-1 and
// AFTER_SEQUENCE_NUMBER from the one at offset p. Numbers grow with the
// offset within a shard, and a child shard (higher index) has higher
// numbers than its parents. A closed shard's EndingSequenceNumber carries
// the largest position.
//
// The 12-digit block was all zeros before (generation 0), with the
// record's offset itself in the last 20 digits, which made a shard's
// StartingSequenceNumber equal its first record's number. Those numbers
// (in consumers' checkpoints) are still read as they were meant.
//
// An iterator is base64 of (version, issue time, vhost, stream, epoch,
// shard index, offset) and an HMAC-SHA256 over them with a key kept in
// the store: forged ones are refused, and it expires after 5 minutes as
// AWS's do.

const (
	seqEpochMod  = 1_000_000_000_000
	seqLen       = 56
	endOffsetSeq = math.MaxUint64 // the position an EndingSequenceNumber carries
	seqGen       = 1              // the 12-digit block of numbers made now
	seqGenLegacy = 0              // the block of numbers made before (offset, not position)
	iterVersion  = 1
	iterMACLen   = 16
)

// recordSeq formats the sequence number of the record at offset off in
// shard idx.
func recordSeq(epoch uint64, idx int, off uint64) string {
	return kinesisSeq(epoch, idx, off+1)
}

// kinesisSeq formats the sequence number of position pos (see above) in
// shard idx.
func kinesisSeq(epoch uint64, idx int, pos uint64) string {
	if idx < 0 || idx > 9_999_999_999 {
		return fmt.Sprintf("49%012d%010d%012d%020d", epoch%seqEpochMod, idx, seqGen, pos)
	}
	var b [seqLen]byte
	putSeq(b[:], epoch, idx, pos)
	return string(b[:])
}

// appendKinesisSeq appends kinesisSeq's digits to b without a string.
func appendKinesisSeq(b []byte, epoch uint64, idx int, pos uint64) []byte {
	if idx < 0 || idx > 9_999_999_999 {
		return append(b, kinesisSeq(epoch, idx, pos)...)
	}
	n := len(b)
	b = slices.Grow(b, seqLen)[:n+seqLen]
	putSeq(b[n:], epoch, idx, pos)
	return b
}

// putSeq writes the digits of a sequence number into b[:seqLen]; idx
// must have at most 10 digits.
func putSeq(b []byte, epoch uint64, idx int, pos uint64) {
	b[0], b[1] = '4', '9'
	putDigits(b[2:14], epoch%seqEpochMod)
	putDigits(b[14:24], uint64(idx))
	putDigits(b[24:36], seqGen)
	putDigits(b[36:56], pos)
}

// kseq is a record's sequence number not yet formatted: the fast JSON
// encoders append its digits straight into the response, the other
// paths format it into the SequenceNumber string beside it (fill).
type kseq struct {
	epoch uint64
	idx   int
	pos   uint64
	set   bool
}

// recordKseq is the kseq of the record at offset off in shard idx.
func recordKseq(epoch uint64, idx int, off uint64) kseq {
	return kseq{epoch: epoch, idx: idx, pos: off + 1, set: true}
}

// fill sets *dst to the formatted number when it is set.
func (q kseq) fill(dst *string) {
	if q.set {
		*dst = kinesisSeq(q.epoch, q.idx, q.pos)
	}
}

// putDigits writes v in decimal into all of dst, zero-padded on the
// left (v must fit).
func putDigits(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

// parseKinesisSeq reads a sequence number made by kinesisSeq, or by the
// generation before it, and returns its position: AT_SEQUENCE_NUMBER
// reads from offset max(pos,1)-1, AFTER_SEQUENCE_NUMBER from offset pos.
func parseKinesisSeq(s string) (epoch uint64, idx int, pos uint64, ok bool) {
	if len(s) != seqLen || s[:2] != "49" {
		return 0, 0, 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, 0, 0, false
		}
	}
	gen, _ := strconv.ParseUint(s[24:36], 10, 64)
	if gen != seqGen && gen != seqGenLegacy {
		return 0, 0, 0, false
	}
	epoch, _ = strconv.ParseUint(s[2:14], 10, 64)
	i, _ := strconv.ParseUint(s[14:24], 10, 64)
	pos, err := strconv.ParseUint(s[36:], 10, 64)
	switch {
	case err != nil:
		pos = math.MaxUint64 // beyond any offset
	case gen == seqGenLegacy && pos < math.MaxUint64:
		pos++ // an offset: the record's position is one more
	}
	return epoch, int(i), pos, i <= math.MaxInt32
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
