package awsgw

import (
	"crypto/hmac"
	"crypto/md5"
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
	"unsafe"
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
	return md5HexIn(nil, data)
}

// md5HexIn is md5Hex with the text in ts (see textSlab).
func md5HexIn(ts *textSlab, data []byte) string {
	sum := md5.Sum(data)
	var out [2 * md5.Size]byte
	hex.Encode(out[:], sum[:])
	return ts.text(out[:]) // one allocation, or none; hex.EncodeToString takes two
}

// textSlab holds the strings of one answer (MD5s, bodies, receipt
// handles, message ids) in one buffer sized up front, instead of one
// allocation each. Each string is a view of bytes written once and never
// again: the buffer never grows, and a string that does not fit in what
// is left is allocated on its own, as is every string of a nil slab.
type textSlab struct{ buf []byte }

// newTextSlab returns a slab of n bytes.
func newTextSlab(n int) *textSlab { return &textSlab{buf: make([]byte, 0, n)} }

// text returns b as a string.
func (ts *textSlab) text(b []byte) string {
	if ts == nil || len(b) == 0 || cap(ts.buf)-len(ts.buf) < len(b) {
		return string(b)
	}
	from := len(ts.buf)
	ts.buf = append(ts.buf, b...)
	return unsafe.String(&ts.buf[from], len(b))
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
// detectable. Everything but the returned string is built in the pooled
// MAC state's scratch space.
func encodeReceipt(key []byte, r receipt) string { return encodeReceiptIn(nil, key, r) }

// receiptLen is the length of a handle for vhost and queue.
func receiptLen(vhost, queue string) int {
	return base64.RawURLEncoding.EncodedLen(1 + 8 + 8 + 4 + 4 + 1 + len(vhost) + len(queue) + 16)
}

// encodeReceiptIn is encodeReceipt with the handle in ts.
func encodeReceiptIn(ts *textSlab, key []byte, r receipt) string {
	m := getMAC(key)
	b := m.raw[:0]
	b = append(b, receiptVersion)
	b = binary.BigEndian.AppendUint64(b, r.seq)
	b = binary.BigEndian.AppendUint64(b, r.msgID)
	b = binary.BigEndian.AppendUint32(b, r.count)
	var nonce [4]byte
	randomBytes(nonce[:])
	b = append(b, nonce[:]...)
	b = append(b, byte(len(r.vhost)))
	b = append(b, r.vhost...)
	b = append(b, r.queue...)
	m.h.Write(b)
	b = m.h.Sum(b)[:len(b)+16]
	out := base64.RawURLEncoding.AppendEncode(m.enc[:0], b)
	h := ts.text(out)
	m.raw, m.enc = b[:0], out[:0] // what grew for long names, putMAC bounds it
	putMAC(key, m)
	return h
}

// decodeReceipt checks and decodes a handle.
func decodeReceipt(key []byte, h string) (receipt, error) {
	m := getMAC(key)
	defer putMAC(key, m)
	r, vhost, queue, ok := m.open(h)
	if !ok {
		return receipt{}, errBadReceipt
	}
	r.vhost, r.queue = string(vhost), string(queue)
	return r, nil
}

// receiptFor checks and decodes a handle that must name vhost and queue;
// ok=false if it is not a valid handle or names another queue. It
// allocates nothing: the names are compared in the MAC state's scratch
// space and the receipt takes the given strings.
func receiptFor(key []byte, h, vhost, queue string) (r receipt, ok bool) {
	m := getMAC(key)
	defer putMAC(key, m)
	r, v, q, ok := m.open(h)
	if !ok || string(v) != vhost || string(q) != queue {
		return receipt{}, false
	}
	r.vhost, r.queue = vhost, queue
	return r, true
}

// macState is a reusable HMAC-SHA256 with scratch space for one receipt
// handle: raw holds the decoded fields and MAC, enc the base64 text, sum
// a MAC to compare. Longer handles (long vhost or queue names, or a
// client's junk) grow them; putMAC drops scratch grown past a bound.
type macState struct {
	h   hash.Hash
	raw []byte
	enc []byte
	sum [sha256.Size]byte
}

// maxKeptScratch bounds the scratch a pooled state keeps.
const maxKeptScratch = 4096

// open checks handle h's MAC and decodes its fields; vhost and queue are
// views of m's scratch space, valid until m is reused.
func (m *macState) open(h string) (r receipt, vhost, queue []byte, ok bool) {
	const fixed = 1 + 8 + 8 + 4 + 4 + 1
	n := base64.RawURLEncoding.DecodedLen(len(h))
	if cap(m.raw) < n {
		m.raw = make([]byte, 0, n)
	}
	b := m.raw[:n]
	m.enc = append(m.enc[:0], h...) // not []byte(h): that allocates
	got, err := base64.RawURLEncoding.Decode(b, m.enc)
	if err != nil || got < fixed+16 || b[0] != receiptVersion {
		return r, nil, nil, false
	}
	b = b[:got]
	body, mac := b[:len(b)-16], b[len(b)-16:]
	m.h.Write(body)
	if !hmac.Equal(m.h.Sum(m.sum[:0])[:16], mac) {
		return r, nil, nil, false
	}
	r.seq = binary.BigEndian.Uint64(body[1:])
	r.msgID = binary.BigEndian.Uint64(body[9:])
	r.count = binary.BigEndian.Uint32(body[17:])
	vl := int(body[25])
	if fixed+vl > len(body) {
		return r, nil, nil, false
	}
	return r, body[fixed : fixed+vl], body[fixed+vl:], true
}

// macPools keeps reusable HMAC-SHA256 states by key: receipt handles are
// signed on every receive and checked on every delete, and hmac.New
// costs two SHA-256 states each time.
var macPools struct {
	mu    sync.RWMutex // guards pools
	pools map[string]*sync.Pool
}

// getMAC returns a reset HMAC-SHA256 state keyed with key; putMAC returns
// it.
func getMAC(key []byte) *macState {
	macPools.mu.RLock()
	p := macPools.pools[string(key)]
	macPools.mu.RUnlock()
	if p != nil {
		if m, ok := p.Get().(*macState); ok {
			m.h.Reset()
			return m
		}
	}
	return &macState{h: hmac.New(sha256.New, key), raw: make([]byte, 0, 160), enc: make([]byte, 0, 216)}
}

func putMAC(key []byte, m *macState) {
	if cap(m.raw) > maxKeptScratch {
		m.raw = nil
	}
	if cap(m.enc) > maxKeptScratch {
		m.enc = nil
	}
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
