package awsgw

import (
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAppendBase64 checks appendBase64 against encoding/base64 for every
// length up to 70 and a record of 1 KiB, appended to a prefix.
func TestAppendBase64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 71 {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		checkBase64(t, src)
	}
	src := make([]byte, 1024)
	for i := range src {
		src[i] = byte(i * 7)
	}
	checkBase64(t, src)
}

func checkBase64(t *testing.T, src []byte) {
	t.Helper()
	want := base64.StdEncoding.AppendEncode([]byte("x"), src)
	require.Equal(t, string(want), string(appendBase64([]byte("x"), src)), "%d bytes", len(src))
	roomy := make([]byte, 1, 1+len(want))
	roomy[0] = 'x'
	require.Equal(t, string(want), string(appendBase64(roomy, src)), "%d bytes, room enough", len(src))
}

// FuzzAppendBase64 checks appendBase64 against encoding/base64.
func FuzzAppendBase64(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\xff\xfe\xfd\x00\x01\x02\x03\x04\x05"))
	f.Fuzz(func(t *testing.T, src []byte) {
		if got, want := appendBase64(nil, src), base64.StdEncoding.AppendEncode(nil, src); string(got) != string(want) {
			t.Fatalf("appendBase64(%x) = %q, want %q", src, got, want)
		}
	})
}

func BenchmarkBase64Encode(b *testing.B) {
	src := make([]byte, 1024)
	dst := make([]byte, 0, 2048)
	b.Run("std", func(b *testing.B) {
		b.SetBytes(1024)
		for b.Loop() {
			dst = base64.StdEncoding.AppendEncode(dst[:0], src)
		}
	})
	b.Run("pairs", func(b *testing.B) {
		b.SetBytes(1024)
		for b.Loop() {
			dst = appendBase64(dst[:0], src)
		}
	})
}

// TestDecodeBase64 checks decodeBase64 against encoding/base64's strict
// decoder: the same bytes for every valid text, and a refusal for every
// invalid one (and for line breaks, which encoding/base64 skips).
func TestDecodeBase64(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 71 {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		enc := base64.StdEncoding.EncodeToString(src)
		checkDecode(t, enc)
		for range 20 { // one byte changed
			b := []byte(enc)
			if len(b) == 0 {
				break
			}
			b[rng.IntN(len(b))] = byte(rng.Uint32())
			checkDecode(t, string(b))
		}
	}
	for _, bad := range []string{"ZDA", "ZDB=", "Z===", "ZA==ZA==", "AAAAAAAA\nAAA", "AAAAAAAAAAA\r", "AAAAAAAAAAAAAAAAAAA\nAAA="} {
		_, ok := decodeBase64(make([]byte, len(bad)), []byte(bad))
		require.False(t, ok, bad)
	}
}

// checkDecode compares decodeBase64 with encoding/base64 on s (which
// counts as invalid for both if it holds a line break).
func checkDecode(t *testing.T, s string) {
	t.Helper()
	want, err := base64.StdEncoding.Strict().DecodeString(s)
	if strings.ContainsAny(s, "\r\n") {
		err = errors.New("line break")
	}
	dst := make([]byte, len(s)/4*3)
	n, ok := decodeBase64(dst, []byte(s))
	require.Equal(t, err == nil, ok, "%q: %v", s, err)
	if ok {
		require.Equal(t, want, dst[:n], "%q", s)
	}
}

// FuzzDecodeBase64 checks decodeBase64 against encoding/base64.
func FuzzDecodeBase64(f *testing.F) {
	f.Add("ZDA=")
	f.Add("AAECAwQFBgcICQoL")
	f.Add("AAECAwQFBgcICQ\n==")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s)%4 != 0 {
			_, ok := decodeBase64(make([]byte, len(s)), []byte(s))
			require.False(t, ok)
			return
		}
		checkDecode(t, s)
	})
}
