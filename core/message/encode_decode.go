package message

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// decoder reads an encoding; the first error sticks and every later read
// returns zero values, so callers check err once at the end.
type decoder struct {
	buf      []byte
	err      error
	viewBody bool // the body is a view of buf, not a copy (UnmarshalView)
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.buf = nil
}

func (d *decoder) byte() byte {
	if len(d.buf) < 1 {
		d.fail(ErrTruncated)
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail(fmt.Errorf("%w: bool", ErrMalformed))
		return false
	}
}

func (d *decoder) fixed(n int) []byte {
	if len(d.buf) < n {
		d.fail(ErrTruncated)
		return nil
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if !d.consumed(n) {
		return 0
	}
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.buf)
	if !d.consumed(n) {
		return 0
	}
	return v
}

// consumed advances past a varint of n bytes as encoding/binary reports
// it (0: truncated, negative: overflow) and reports whether it was valid.
func (d *decoder) consumed(n int) bool {
	switch {
	case n == 0:
		d.fail(ErrTruncated)
		return false
	case n < 0:
		d.fail(fmt.Errorf("%w: varint overflow", ErrMalformed))
		return false
	}
	d.buf = d.buf[n:]
	return true
}

// count reads an element count; each element takes at least min bytes, so a
// count the remaining input cannot hold is refused before any allocation.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.buf)/min) {
		d.fail(fmt.Errorf("%w: count %d exceeds input", ErrTruncated, n))
		return 0
	}
	return int(n)
}

func (d *decoder) raw() []byte {
	n := d.uvarint()
	if n > uint64(len(d.buf)) {
		d.fail(ErrTruncated)
		return nil
	}
	return d.fixed(int(n))
}

func (d *decoder) string() string { return string(d.raw()) }

func (d *decoder) bytes() []byte {
	b := d.raw()
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

func (d *decoder) message(m *Message) {
	mask := d.uvarint()
	if mask >= hasAWS<<1 {
		d.fail(fmt.Errorf("%w: unknown field mask %#x", ErrMalformed, mask))
		return
	}
	if mask&hasID != 0 {
		m.ID = d.uvarint()
	}
	if mask&hasExchange != 0 {
		m.Exchange = d.string()
	}
	if mask&hasRoutingKey != 0 {
		m.RoutingKey = d.string()
	}
	if mask&hasProps != 0 {
		d.props(&m.Props)
	}
	if mask&hasBody != 0 {
		if d.viewBody {
			if b := d.raw(); len(b) > 0 {
				m.Body = b[:len(b):len(b)]
			}
		} else {
			m.Body = d.bytes()
		}
	}
	if mask&hasOrigin != 0 {
		m.Origin = Face(d.byte())
	}
	if mask&hasArrived != 0 {
		m.Arrived = d.varint()
	}
	if mask&hasDelayUntil != 0 {
		m.DelayUntil = d.varint()
	}
	if mask&hasGroupID != 0 {
		m.GroupID = d.string()
	}
	if mask&hasDedupID != 0 {
		m.DedupID = d.string()
	}
	if mask&hasMQTT != 0 {
		m.MQTT = d.mqtt()
	}
	if mask&hasAWS != 0 {
		m.AWS = d.aws()
	}
}

func (d *decoder) props(p *Properties) {
	p.Flags = PropFlag(d.uint16())
	mask := d.uint16()
	if mask >= 1<<14 {
		d.fail(fmt.Errorf("%w: unknown property mask %#x", ErrMalformed, mask))
		return
	}
	strs := [...]*string{0: &p.ContentType, 1: &p.ContentEncoding, 5: &p.CorrelationID,
		6: &p.ReplyTo, 7: &p.Expiration, 8: &p.MessageID, 10: &p.Type, 11: &p.UserID,
		12: &p.AppID, 13: &p.ClusterID}
	for i := range 14 {
		if mask&(1<<i) == 0 {
			continue
		}
		switch i {
		case 2:
			p.Headers = d.table(0)
		case 3:
			p.DeliveryMode = d.byte()
		case 4:
			p.Priority = d.byte()
		case 9:
			p.Timestamp = d.varint()
		default:
			*strs[i] = d.string()
		}
	}
}

func (d *decoder) mqtt() *MQTTMeta {
	q := &MQTTMeta{Topic: d.string()}
	q.QoS = d.byte()
	q.Retain = d.bool()
	q.PayloadFormat = d.byte()
	q.HasExpiry = d.bool()
	if n := d.count(2); n > 0 {
		q.UserProperties = make([]UserProperty, n)
		for i := range q.UserProperties {
			q.UserProperties[i] = UserProperty{Key: d.string(), Value: d.string()}
		}
	}
	q.ResponseTopic = d.string()
	q.CorrelationData = d.bytes()
	exp := d.uvarint()
	if exp > math.MaxUint32 {
		d.fail(fmt.Errorf("%w: expiry %d", ErrMalformed, exp))
	}
	q.ExpirySeconds = uint32(exp)
	q.ContentType = d.string()
	return q
}

func (d *decoder) aws() *AWSMeta {
	a := &AWSMeta{}
	if n := d.count(4); n > 0 {
		a.SQSAttributes = make([]SQSAttribute, n)
		for i := range a.SQSAttributes {
			at := &a.SQSAttributes[i]
			at.Name, at.DataType, at.StringValue = d.string(), d.string(), d.string()
			at.BinaryValue = d.bytes()
		}
	}
	a.MessageGroupID = d.string()
	a.DeduplicationID = d.string()
	a.SNSSubject = d.string()
	a.PartitionKey = d.string()
	a.ExplicitHashKey = d.string()
	return a
}

func (d *decoder) table(depth int) Table {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	t := make(Table, n)
	for i := range t {
		t[i].Key = d.string()
		t[i].Value = d.value(depth + 1)
		if d.err != nil {
			return nil
		}
	}
	return t
}

func (d *decoder) value(depth int) any {
	if depth > MaxNestingDepth {
		d.fail(fmt.Errorf("%w: nesting deeper than %d", ErrMalformed, MaxNestingDepth))
		return nil
	}
	switch tag := d.byte(); tag {
	case tagBool:
		return d.bool()
	case tagInt8:
		return int8(d.byte())
	case tagUint8:
		return d.byte()
	case tagInt16:
		return int16(d.uint16())
	case tagUint16:
		return d.uint16()
	case tagInt32:
		return int32(d.ranged(d.varint(), math.MinInt32, math.MaxInt32))
	case tagUint32:
		return uint32(d.ranged(int64(min(d.uvarint(), math.MaxUint32+1)), 0, math.MaxUint32))
	case tagInt64:
		return d.varint()
	case tagUint64:
		return d.uvarint()
	case tagFloat32:
		return math.Float32frombits(d.uint32())
	case tagFloat64:
		b := d.fixed(8)
		if b == nil {
			return nil
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b))
	case tagDecimal:
		return Decimal{Scale: d.byte(), Value: int32(d.uint32())}
	case tagString:
		return d.string()
	case tagBytes:
		return d.bytesNonNil()
	case tagTime:
		return d.time()
	case tagTable:
		return d.table(depth)
	case tagArray:
		return d.array(depth)
	case tagVoid:
		return nil
	default:
		d.fail(fmt.Errorf("%w: unknown value tag %#x", ErrMalformed, tag))
		return nil
	}
}

func (d *decoder) array(depth int) []any {
	n := d.count(1)
	a := make([]any, n)
	for i := range a {
		a[i] = d.value(depth + 1)
		if d.err != nil {
			return nil
		}
	}
	return a
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	ns := d.uvarint()
	if ns >= 1e9 {
		d.fail(fmt.Errorf("%w: nanoseconds %d", ErrMalformed, ns))
		return time.Time{}
	}
	return time.Unix(sec, int64(ns))
}

// bytesNonNil keeps an empty header byte array distinct from void.
func (d *decoder) bytesNonNil() []byte {
	b := d.raw()
	return append([]byte{}, b...)
}

func (d *decoder) uint16() uint16 {
	b := d.fixed(2)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

func (d *decoder) uint32() uint32 {
	b := d.fixed(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (d *decoder) ranged(v, lo, hi int64) int64 {
	if v < lo || v > hi {
		d.fail(fmt.Errorf("%w: integer %d out of range", ErrMalformed, v))
		return 0
	}
	return v
}
