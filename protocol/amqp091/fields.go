package amqp091

import (
	"encoding/binary"
	"math"
)

// fieldReader reads AMQP fields from a payload, bounds-checked. The first
// error is sticky: later reads return zero values, so generated decoders
// read every field and check err once at the end.
type fieldReader struct {
	b   []byte
	off int
	err error
}

func (r *fieldReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.off = len(r.b)
}

// take returns the next n bytes, or nil after recording ErrShortPayload.
func (r *fieldReader) take(n int) []byte {
	if n < 0 || n > len(r.b)-r.off {
		r.fail(ErrShortPayload)
		return nil
	}
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p
}

func (r *fieldReader) octet() uint8 {
	if r.off >= len(r.b) {
		r.fail(ErrShortPayload)
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

func (r *fieldReader) short() uint16 {
	p := r.take(2)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint16(p)
}

func (r *fieldReader) long() uint32 {
	p := r.take(4)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint32(p)
}

func (r *fieldReader) longlong() uint64 {
	p := r.take(8)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint64(p)
}

// str turns p into a string, returning old when the bytes are the same so
// that decoding into a reused struct does not allocate for repeated values
// (the same exchange, routing key or content type message after message).
func str(p []byte, old string) string {
	if string(p) == old {
		return old
	}
	return string(p)
}

// shortstr reads a short string (octet length). AMQP 0-9-1 4.2.5.3.
func (r *fieldReader) shortstr(old string) string {
	n := r.octet()
	return str(r.take(int(n)), old)
}

// longstrBytes reads a long string (uint32 length) without copying it.
func (r *fieldReader) longstrBytes() []byte {
	n := r.long()
	if uint64(n) > uint64(len(r.b)-r.off) {
		r.fail(ErrShortPayload)
		return nil
	}
	return r.take(int(n))
}

// longstr reads a long string (uint32 length). AMQP 0-9-1 4.2.5.3.
func (r *fieldReader) longstr(old string) string {
	return str(r.longstrBytes(), old)
}

func (r *fieldReader) float32() float32 { return math.Float32frombits(r.long()) }
func (r *fieldReader) float64() float64 { return math.Float64frombits(r.longlong()) }

// done returns the first error, or ErrTrailingBytes when fields remain.
func (r *fieldReader) done() error {
	if r.err == nil && r.off != len(r.b) {
		r.err = ErrTrailingBytes
	}
	return r.err
}

// methodHead checks that payload starts with classID and methodID and
// returns a reader positioned at the arguments.
func methodHead(payload []byte, classID, methodID uint16) fieldReader {
	r := fieldReader{b: payload}
	if r.short() != classID || r.short() != methodID {
		r.fail(ErrUnknownMethod)
	}
	return r
}
