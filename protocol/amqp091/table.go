package amqp091

import (
	"math"
	"time"

	"github.com/junctionmq/junction/core/message"
)

// MaxTableDepth bounds how deeply field tables and arrays may nest in a
// decoded payload, so that hostile input cannot recurse without end.
const MaxTableDepth = 100

// DecodeTable decodes a field table's contents (the bytes after its uint32
// length). Order and repeated keys are kept. An empty table decodes to nil.
// The result never aliases b.
func DecodeTable(b []byte) (message.Table, error) {
	var r fieldReader
	t := r.tableBody(b, 0)
	return t, r.err
}

// table reads a field table (uint32 byte length, then fields).
// AMQP 0-9-1 4.2.5.5 with RabbitMQ's type letters.
func (r *fieldReader) table(depth int) message.Table {
	p := r.longstrBytes()
	if p == nil {
		return nil
	}
	return r.tableBody(p, depth)
}

func (r *fieldReader) tableBody(p []byte, depth int) message.Table {
	if depth >= MaxTableDepth {
		r.fail(ErrTableDepth)
		return nil
	}
	sub := fieldReader{b: p}
	var t message.Table
	for sub.off < len(sub.b) && sub.err == nil {
		key := sub.shortstr("")
		v := sub.value(depth + 1)
		t = append(t, message.Field{Key: key, Value: v})
	}
	if sub.err != nil {
		r.fail(sub.err)
		return nil
	}
	return t
}

// array reads a field array (uint32 byte length, then values).
func (r *fieldReader) array(depth int) []any {
	p := r.longstrBytes()
	if p == nil {
		return nil
	}
	if depth >= MaxTableDepth {
		r.fail(ErrTableDepth)
		return nil
	}
	sub := fieldReader{b: p}
	var a []any
	for sub.off < len(sub.b) && sub.err == nil {
		a = append(a, sub.value(depth+1))
	}
	if sub.err != nil {
		r.fail(sub.err)
		return nil
	}
	return a
}

// value reads one type-tagged field value. The Go type for each letter is
// documented in core/message.
func (r *fieldReader) value(depth int) any {
	switch r.octet() {
	case 't':
		return r.octet() != 0
	case 'b':
		return int8(r.octet())
	case 'B':
		return r.octet()
	case 's':
		return int16(r.short())
	case 'u':
		return r.short()
	case 'I':
		return int32(r.long())
	case 'i':
		return r.long()
	case 'l':
		return int64(r.longlong())
	case 'L':
		return r.longlong()
	case 'f':
		return r.float32()
	case 'd':
		return r.float64()
	case 'D':
		scale := r.octet()
		return message.Decimal{Scale: scale, Value: int32(r.long())}
	case 'S':
		return string(r.longstrBytes())
	case 'x':
		p := r.longstrBytes()
		return append([]byte{}, p...)
	case 'A':
		return r.array(depth)
	case 'T':
		return time.Unix(int64(r.longlong()), 0).UTC()
	case 'F':
		return r.table(depth)
	case 'V':
		return nil
	}
	r.fail(ErrFieldType)
	return nil
}

// PutTable appends a field table: a uint32 byte length, then each field in
// order. A value of a Go type outside core/message's mapping (int is also
// accepted, as 'l') records ErrTableValue.
func (w *Writer) PutTable(t message.Table) {
	start := w.lengthPrefix()
	for i := range t {
		w.PutShortstr(t[i].Key)
		w.putValue(t[i].Value)
	}
	w.patchLength(start)
}

func (w *Writer) putArray(a []any) {
	start := w.lengthPrefix()
	for _, v := range a {
		w.putValue(v)
	}
	w.patchLength(start)
}

// putValue appends one type-tagged value.
func (w *Writer) putValue(v any) {
	switch v := v.(type) {
	case bool:
		var b uint8
		if v {
			b = 1
		}
		w.Buf = append(w.Buf, 't', b)
	case int8:
		w.Buf = append(w.Buf, 'b', uint8(v))
	case uint8:
		w.Buf = append(w.Buf, 'B', v)
	case int16:
		w.PutOctet('s')
		w.PutShort(uint16(v))
	case uint16:
		w.PutOctet('u')
		w.PutShort(v)
	case int32:
		w.PutOctet('I')
		w.PutLong(uint32(v))
	case uint32:
		w.PutOctet('i')
		w.PutLong(v)
	case int64:
		w.PutOctet('l')
		w.PutLongLong(uint64(v))
	case int:
		w.PutOctet('l')
		w.PutLongLong(uint64(v))
	case uint64:
		w.PutOctet('L')
		w.PutLongLong(v)
	case float32:
		w.PutOctet('f')
		w.PutLong(math.Float32bits(v))
	case float64:
		w.PutOctet('d')
		w.PutLongLong(math.Float64bits(v))
	case message.Decimal:
		w.Buf = append(w.Buf, 'D', v.Scale)
		w.PutLong(uint32(v.Value))
	case string:
		w.PutOctet('S')
		w.PutLongstr(v)
	case []byte:
		w.PutOctet('x')
		w.PutLong(uint32(len(v)))
		w.Buf = append(w.Buf, v...)
	case []any:
		w.PutOctet('A')
		w.putArray(v)
	case time.Time:
		w.PutOctet('T')
		w.PutLongLong(uint64(v.Unix()))
	case message.Table:
		w.PutOctet('F')
		w.PutTable(v)
	case nil:
		w.PutOctet('V')
	default:
		w.fail(ErrTableValue)
	}
}
