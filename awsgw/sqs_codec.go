package awsgw

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// msgAttr is an SQS message attribute value as the API carries it.
type msgAttr struct {
	StringValue      *string  `json:"StringValue,omitempty"`
	BinaryValue      []byte   `json:"BinaryValue,omitempty"`
	StringListValues []string `json:"StringListValues,omitempty" xml:"StringListValue"`
	BinaryListValues [][]byte `json:"BinaryListValues,omitempty" xml:"BinaryListValue"`
	DataType         string   `json:"DataType"`
}

// md5Hex is the hex MD5 of data (MD5OfMessageBody).
func md5Hex(data []byte) string {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

// md5OfAttributes computes MD5OfMessageAttributes as AWS does: for each
// attribute in name order, the length-prefixed (4 bytes, big endian) name,
// data type, a transport byte (1 string, 2 binary) and the
// length-prefixed value. It returns "" for no attributes.
func md5OfAttributes(attrs map[string]msgAttr) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	var lb [4]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint32(lb[:], uint32(len(b)))
		h.Write(lb[:])
		h.Write(b)
	}
	for _, n := range names {
		a := attrs[n]
		put([]byte(n))
		put([]byte(a.DataType))
		if isBinaryType(a.DataType) {
			h.Write([]byte{2})
			put(a.BinaryValue)
		} else {
			h.Write([]byte{1})
			if a.StringValue != nil {
				put([]byte(*a.StringValue))
			} else {
				put(nil)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func isBinaryType(t string) bool { return strings.HasPrefix(t, "Binary") }

// validBody reports whether s holds only the characters SQS allows:
// #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF. It
// returns the first offending rune otherwise.
func validBody(s []byte) (rune, bool) {
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		if r == utf8.RuneError && n <= 1 {
			return rune(s[0]), false
		}
		if !(r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF ||
			r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return r, false
		}
		s = s[n:]
	}
	return 0, true
}

// contentDedupID is the deduplication id of ContentBasedDeduplication:
// the SHA-256 of the body.
func contentDedupID(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// receipt is what a receipt handle encodes.
type receipt struct {
	vhost, queue string
	seq          uint64
	msgID        uint64
	count        uint32
}

const receiptVersion = 1

var errBadReceipt = errors.New("invalid receipt handle")

// encodeReceipt makes an opaque handle: the fields, a random nonce (so no
// two receives share a handle) and an HMAC that makes forged handles
// detectable.
func encodeReceipt(key []byte, r receipt) string {
	b := make([]byte, 0, 64+len(r.vhost)+len(r.queue))
	b = append(b, receiptVersion)
	b = binary.BigEndian.AppendUint64(b, r.seq)
	b = binary.BigEndian.AppendUint64(b, r.msgID)
	b = binary.BigEndian.AppendUint32(b, r.count)
	var nonce [4]byte
	_, _ = rand.Read(nonce[:])
	b = append(b, nonce[:]...)
	b = append(b, byte(len(r.vhost)))
	b = append(b, r.vhost...)
	b = append(b, r.queue...)
	m := getMAC(key)
	m.Write(b)
	b = m.Sum(b)[:len(b)+16]
	putMAC(key, m)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeReceipt checks and decodes a handle.
func decodeReceipt(key []byte, h string) (receipt, error) {
	var r receipt
	b, err := base64.RawURLEncoding.DecodeString(h)
	const fixed = 1 + 8 + 8 + 4 + 4 + 1
	if err != nil || len(b) < fixed+16 || b[0] != receiptVersion {
		return r, errBadReceipt
	}
	body, mac := b[:len(b)-16], b[len(b)-16:]
	m := getMAC(key)
	m.Write(body)
	var sum [sha256.Size]byte
	ok := hmac.Equal(m.Sum(sum[:0])[:16], mac)
	putMAC(key, m)
	if !ok {
		return r, errBadReceipt
	}
	r.seq = binary.BigEndian.Uint64(body[1:])
	r.msgID = binary.BigEndian.Uint64(body[9:])
	r.count = binary.BigEndian.Uint32(body[17:])
	vl := int(body[25])
	if fixed+vl > len(body) {
		return r, errBadReceipt
	}
	r.vhost = string(body[fixed : fixed+vl])
	r.queue = string(body[fixed+vl:])
	return r, nil
}

// macPools keeps reusable HMAC-SHA256 states by key: receipt handles are
// signed on every receive and checked on every delete, and hmac.New
// costs two SHA-256 states each time.
var macPools struct {
	mu    sync.RWMutex // guards pools
	pools map[string]*sync.Pool
}

// getMAC returns a reset HMAC-SHA256 keyed with key; putMAC returns it.
func getMAC(key []byte) hash.Hash {
	macPools.mu.RLock()
	p := macPools.pools[string(key)]
	macPools.mu.RUnlock()
	if p != nil {
		if m, ok := p.Get().(hash.Hash); ok {
			m.Reset()
			return m
		}
	}
	return hmac.New(sha256.New, key)
}

func putMAC(key []byte, m hash.Hash) {
	macPools.mu.RLock()
	p := macPools.pools[string(key)]
	macPools.mu.RUnlock()
	if p == nil {
		macPools.mu.Lock()
		if macPools.pools == nil {
			macPools.pools = map[string]*sync.Pool{}
		}
		if p = macPools.pools[string(key)]; p == nil {
			p = &sync.Pool{}
			macPools.pools[string(key)] = p
		}
		macPools.mu.Unlock()
	}
	p.Put(m)
}
