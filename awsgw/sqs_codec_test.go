package awsgw

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refDecodeReceipt is the straightforward decoder (DecodeString, a fresh
// HMAC) that the pooled one must agree with.
func refDecodeReceipt(key []byte, h string) (receipt, bool) {
	b, err := base64.RawURLEncoding.DecodeString(h)
	const fixed = 1 + 8 + 8 + 4 + 4 + 1
	if err != nil || len(b) < fixed+16 || b[0] != receiptVersion {
		return receipt{}, false
	}
	body, mac := b[:len(b)-16], b[len(b)-16:]
	m := hmac.New(sha256.New, key)
	m.Write(body)
	if !hmac.Equal(m.Sum(nil)[:16], mac) {
		return receipt{}, false
	}
	vl := int(body[25])
	if fixed+vl > len(body) {
		return receipt{}, false
	}
	return receipt{vhost: string(body[fixed : fixed+vl]), queue: string(body[fixed+vl:]),
		seq: beUint64(body[1:]), msgID: beUint64(body[9:]), count: uint32(beUint64(append([]byte{0, 0, 0, 0}, body[17:21]...)))}, true
}

func beUint64(b []byte) uint64 {
	var n uint64
	for _, c := range b[:8] {
		n = n<<8 | uint64(c)
	}
	return n
}

func TestReceiptCodecRoundTrip(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	long := strings.Repeat("q", 80) // SQS's longest queue name
	for _, r := range []receipt{
		{vhost: "/", queue: "q", seq: 1, msgID: 2, count: 3},
		{vhost: "", queue: "", seq: 0, msgID: 0, count: 0},
		{vhost: strings.Repeat("v", 255), queue: long + ".fifo", seq: 1 << 63, msgID: ^uint64(0), count: ^uint32(0)},
	} {
		h := encodeReceipt(key, r)
		got, err := decodeReceipt(key, h)
		require.NoError(t, err)
		assert.Equal(t, r, got)
		ref, ok := refDecodeReceipt(key, h)
		require.True(t, ok)
		assert.Equal(t, r, ref)
		got, ok = receiptFor(key, h, r.vhost, r.queue)
		require.True(t, ok)
		assert.Equal(t, r, got)
		_, ok = receiptFor(key, h, r.vhost, r.queue+"x")
		assert.False(t, ok, "another queue")
		_, ok = receiptFor(key, h, r.vhost+"x", r.queue)
		assert.False(t, ok, "another vhost")
		assert.NotEqual(t, h, encodeReceipt(key, r), "each receive gets its own handle")
		// One changed character breaks the MAC (or the base64).
		bad := []byte(h)
		bad[len(bad)/2] ^= 1
		_, err = decodeReceipt(key, string(bad))
		assert.Error(t, err)
		_, err = decodeReceipt([]byte("another key"), h)
		assert.Error(t, err)
	}
}

// A huge junk handle is refused, and the pooled state it grew is not
// kept: the next states start from the usual scratch.
func TestReceiptCodecJunk(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	for _, h := range []string{strings.Repeat("A", 100_000), strings.Repeat("!", 5000), ""} {
		_, err := decodeReceipt(key, h)
		assert.Error(t, err)
		_, ok := receiptFor(key, h, "/", "q")
		assert.False(t, ok)
	}
	m := getMAC(key)
	assert.LessOrEqual(t, cap(m.raw), maxKeptScratch)
	assert.LessOrEqual(t, cap(m.enc), maxKeptScratch)
	putMAC(key, m)
	r := receipt{vhost: "/", queue: "q", seq: 7, msgID: 8, count: 1}
	got, ok := receiptFor(key, encodeReceipt(key, r), "/", "q")
	require.True(t, ok)
	assert.Equal(t, r, got)
}

func TestMD5Hex(t *testing.T) {
	for _, s := range []string{"", "a", strings.Repeat("body ", 1000)} {
		sum := md5.Sum([]byte(s))
		assert.Equal(t, hex.EncodeToString(sum[:]), md5Hex([]byte(s)))
	}
}

// FuzzReceiptCodec holds the pooled receipt decoders to the straightforward
// one on arbitrary handles.
func FuzzReceiptCodec(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	f.Add(encodeReceipt(key, receipt{vhost: "/", queue: "q", seq: 1, msgID: 2, count: 3}))
	f.Add(encodeReceipt(key, receipt{vhost: strings.Repeat("v", 200), queue: strings.Repeat("q", 80)}))
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, h string) {
		ref, refOK := refDecodeReceipt(key, h)
		got, err := decodeReceipt(key, h)
		require.Equal(t, refOK, err == nil)
		if !refOK {
			return
		}
		require.Equal(t, ref, got)
		got, ok := receiptFor(key, h, ref.vhost, ref.queue)
		require.True(t, ok)
		require.Equal(t, ref, got)
	})
}

// TestRandomBytesNeverRepeat: the pooled crypto/rand blocks hand out
// each byte once, across refills and for requests larger than a block.
func TestRandomBytesNeverRepeat(t *testing.T) {
	seen := map[[16]byte]bool{}
	for range 3 * 1024 / 16 * 2 { // several refills of a block
		var b [16]byte
		randomBytes(b[:])
		require.False(t, seen[b], "a 16-byte draw repeated")
		seen[b] = true
	}
	big := make([]byte, 4096)
	randomBytes(big)
	require.NotEqual(t, make([]byte, 4096), big)
	ids := map[string]bool{}
	for range 1000 {
		id := newUUID()
		require.Len(t, id, uuidLen)
		require.Equal(t, byte('4'), id[14], id)
		require.False(t, ids[id])
		ids[id] = true
	}
}
