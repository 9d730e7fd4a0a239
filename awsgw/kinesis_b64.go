package awsgw

import (
	"encoding/base64"
	"encoding/binary"
)

// GetRecords spends most of its encoding time in base64 (a 1 KiB record
// is 1,368 characters). encoding/base64 looks up each 6-bit group in a
// 64-byte alphabet; appendBase64 looks up 12-bit groups in a table of
// character pairs (8 KiB, in cache at these rates) and writes 8
// characters at a time.

// b64Pairs maps 12 bits to their two base64 characters, the first in
// the low byte.
var b64Pairs = func() (t [4096]uint16) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = uint16(alphabet[i>>6]) | uint16(alphabet[i&63])<<8
	}
	return t
}()

// appendBase64 appends the standard (padded) base64 encoding of src to
// dst, as base64.StdEncoding.AppendEncode does.
func appendBase64(dst, src []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(src))
	if cap(dst)-len(dst) < n {
		dst = append(dst, make([]byte, n)...)[:len(dst)]
	}
	out := dst[len(dst) : len(dst)+n]
	i, o := 0, 0
	// 6 bytes in, 8 characters out; reading 8 bytes at a time, so the
	// last 2 of src are left to the tail.
	for ; i+8 <= len(src); i, o = i+6, o+8 {
		v := binary.BigEndian.Uint64(src[i:])
		w := uint64(b64Pairs[v>>52]) | uint64(b64Pairs[v>>40&0xfff])<<16 |
			uint64(b64Pairs[v>>28&0xfff])<<32 | uint64(b64Pairs[v>>16&0xfff])<<48
		binary.LittleEndian.PutUint64(out[o:], w)
	}
	base64.StdEncoding.Encode(out[o:], src[i:])
	return dst[:len(dst)+n]
}

// b64PairVals maps two base64 characters (the first in the high byte) to
// their 12 bits, or to b64Bad when either is not in the alphabet ('='
// included: padding is left to the last quartet).
var b64PairVals = func() *[1 << 16]uint16 {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	t := new([1 << 16]uint16)
	for i := range t {
		t[i] = b64Bad
	}
	for i := range 64 {
		for j := range 64 {
			t[int(alphabet[i])<<8|int(alphabet[j])] = uint16(i<<6 | j)
		}
	}
	return t
}()

const b64Bad = 0xf000

// b64Plain reports which bytes may appear in a padded base64 text.
var b64Plain = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") {
		t[c] = true
	}
	return t
}()

// decodeBase64 decodes src, standard padded base64 of a length that is a
// multiple of 4, into dst (room enough: len(src)/4*3) as
// base64.StdEncoding.Strict().Decode does, except that it also rejects
// the line breaks encoding/base64 skips. ok=false: src is not such a
// text.
func decodeBase64(dst, src []byte) (n int, ok bool) {
	if len(src)%4 != 0 {
		return 0, false
	}
	i, o := 0, 0
	// 8 characters in, 6 bytes out; the last quartet, which may be
	// padded, is left to the tail.
	for ; i+12 <= len(src); i, o = i+8, o+6 {
		s := src[i : i+8 : i+8]
		a := b64PairVals[uint16(s[0])<<8|uint16(s[1])]
		b := b64PairVals[uint16(s[2])<<8|uint16(s[3])]
		c := b64PairVals[uint16(s[4])<<8|uint16(s[5])]
		d := b64PairVals[uint16(s[6])<<8|uint16(s[7])]
		if (a|b|c|d)&b64Bad != 0 {
			return 0, false
		}
		v := uint64(a)<<36 | uint64(b)<<24 | uint64(c)<<12 | uint64(d)
		out := dst[o : o+6 : o+6]
		binary.BigEndian.PutUint32(out, uint32(v>>16))
		binary.BigEndian.PutUint16(out[4:], uint16(v))
	}
	for _, c := range src[i:] {
		if !b64Plain[c] {
			return 0, false
		}
	}
	m, err := base64.StdEncoding.Strict().Decode(dst[o:], src[i:])
	if err != nil {
		return 0, false
	}
	return o + m, true
}
