package stream

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"math/big"
	"math/bits"
)

// Uint128 is an unsigned 128-bit integer: a Kinesis hash key.
type Uint128 struct {
	Hi, Lo uint64
}

// MaxHashKey is 2^128 - 1, the top of the hash-key space.
var MaxHashKey = Uint128{Hi: ^uint64(0), Lo: ^uint64(0)}

// HashKeyFor returns the hash key of a partition key as Kinesis computes
// it: MD5 of the key's UTF-8 bytes read as a big-endian unsigned integer.
func HashKeyFor(partitionKey string) Uint128 {
	sum := md5.Sum([]byte(partitionKey))
	return Uint128{Hi: binary.BigEndian.Uint64(sum[:8]), Lo: binary.BigEndian.Uint64(sum[8:])}
}

// ParseHashKey parses a decimal hash key (Kinesis ExplicitHashKey,
// NewStartingHashKey) in [0, 2^128).
func ParseHashKey(s string) (Uint128, error) {
	if s == "" || len(s) > 39 {
		return Uint128{}, fmt.Errorf("%w: %q", ErrInvalidHashKey, s)
	}
	var h Uint128
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return Uint128{}, fmt.Errorf("%w: %q", ErrInvalidHashKey, s)
		}
		// h = h*10 + c, detecting overflow.
		hi, lo := bits.Mul64(h.Lo, 10)
		top, hi2 := bits.Mul64(h.Hi, 10)
		hi, carry := bits.Add64(hi, hi2, 0)
		if top != 0 || carry != 0 {
			return Uint128{}, fmt.Errorf("%w: %q exceeds 2^128-1", ErrInvalidHashKey, s)
		}
		lo, carry = bits.Add64(lo, uint64(c-'0'), 0)
		hi, carry = bits.Add64(hi, 0, carry)
		if carry != 0 {
			return Uint128{}, fmt.Errorf("%w: %q exceeds 2^128-1", ErrInvalidHashKey, s)
		}
		h = Uint128{Hi: hi, Lo: lo}
	}
	return h, nil
}

// String formats h in decimal, as Kinesis writes hash keys.
func (h Uint128) String() string { return h.big().String() }

func (h Uint128) big() *big.Int {
	b := new(big.Int).SetUint64(h.Hi)
	b.Lsh(b, 64)
	return b.Or(b, new(big.Int).SetUint64(h.Lo))
}

func fromBig(b *big.Int) Uint128 {
	lo := new(big.Int).And(b, new(big.Int).SetUint64(^uint64(0)))
	hi := new(big.Int).Rsh(b, 64)
	return Uint128{Hi: hi.Uint64(), Lo: lo.Uint64()}
}

// Cmp returns -1, 0 or +1 as h is less than, equal to or greater than o.
func (h Uint128) Cmp(o Uint128) int {
	switch {
	case h.Hi < o.Hi:
		return -1
	case h.Hi > o.Hi:
		return 1
	case h.Lo < o.Lo:
		return -1
	case h.Lo > o.Lo:
		return 1
	}
	return 0
}

// Add1 returns h+1 (wrapping at 2^128).
func (h Uint128) Add1() Uint128 {
	lo, c := bits.Add64(h.Lo, 1, 0)
	return Uint128{Hi: h.Hi + c, Lo: lo}
}

// Sub1 returns h-1 (wrapping at 0).
func (h Uint128) Sub1() Uint128 {
	lo, b := bits.Sub64(h.Lo, 1, 0)
	return Uint128{Hi: h.Hi - b, Lo: lo}
}

// MarshalText formats h in decimal.
func (h Uint128) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText parses a decimal hash key.
func (h *Uint128) UnmarshalText(b []byte) error {
	v, err := ParseHashKey(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// HashRange is an inclusive range of hash keys.
type HashRange struct {
	Start Uint128 `json:"StartingHashKey"`
	End   Uint128 `json:"EndingHashKey"`
}

// Contains reports whether k is in r.
func (r HashRange) Contains(k Uint128) bool {
	return r.Start.Cmp(k) <= 0 && k.Cmp(r.End) <= 0
}

// EvenRanges splits the hash-key space into n contiguous ranges as Kinesis
// CreateStream does: range i starts at i*floor(2^128/n), and each ends one
// below the next start; the last ends at 2^128-1.
func EvenRanges(n int) ([]HashRange, error) {
	if n < 1 {
		return nil, fmt.Errorf("%w: %d", ErrInvalidCount, n)
	}
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	step := new(big.Int).Div(space, big.NewInt(int64(n)))
	out := make([]HashRange, n)
	for i := range out {
		start := new(big.Int).Mul(step, big.NewInt(int64(i)))
		out[i].Start = fromBig(start)
		if i == n-1 {
			out[i].End = MaxHashKey
		} else {
			out[i].End = fromBig(start.Add(start, step)).Sub1()
		}
	}
	return out, nil
}
