package message

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// EncodingVersion is the first byte of every encoded message. Unmarshal
// refuses other versions with ErrEncodingVersion.
const EncodingVersion = 1

// MaxNestingDepth bounds how deeply header arrays and tables nest. Marshal
// writes values at this depth as void (nil); Unmarshal refuses deeper ones.
const MaxNestingDepth = 32

// Errors Unmarshal returns.
var (
	// ErrTruncated means the encoded message ended in the middle of a field.
	ErrTruncated = errors.New("message: encoding truncated")
	// ErrEncodingVersion means the encoding has an unknown version byte.
	ErrEncodingVersion = errors.New("message: unknown encoding version")
	// ErrMalformed means the encoding holds an invalid value (unknown type
	// tag, nesting too deep, trailing bytes, impossible length).
	ErrMalformed = errors.New("message: malformed encoding")
)

// Presence bits of a Message's top-level fields: only non-zero fields are
// written. Empty slices decode as nil.
const (
	hasID uint64 = 1 << iota
	hasExchange
	hasRoutingKey
	hasProps
	hasBody
	hasOrigin
	hasArrived
	hasDelayUntil
	hasGroupID
	hasDedupID
	hasMQTT
	hasAWS
)

// Header value tags: the AMQP 0-9-1 field-table letters.
const (
	tagBool    = 't'
	tagInt8    = 'b'
	tagUint8   = 'B'
	tagInt16   = 's'
	tagUint16  = 'u'
	tagInt32   = 'I'
	tagUint32  = 'i'
	tagInt64   = 'l'
	tagUint64  = 'L'
	tagFloat32 = 'f'
	tagFloat64 = 'd'
	tagDecimal = 'D'
	tagString  = 'S'
	tagBytes   = 'x'
	tagArray   = 'A'
	tagTime    = 'T'
	tagTable   = 'F'
	tagVoid    = 'V'
)

// Marshal appends the binary encoding of m to dst and returns the extended
// slice. The encoding is versioned, carries every field of m, and writes
// only fields that are not zero. Header values of a Go type message.go does
// not list are written as their nearest listed type (int as int64, uint as
// uint64) or, failing that, as void.
func Marshal(dst []byte, m *Message) []byte {
	dst = append(dst, EncodingVersion)
	mask := messageMask(m)
	dst = binary.AppendUvarint(dst, mask)
	if mask&hasID != 0 {
		dst = binary.AppendUvarint(dst, m.ID)
	}
	if mask&hasExchange != 0 {
		dst = appendString(dst, m.Exchange)
	}
	if mask&hasRoutingKey != 0 {
		dst = appendString(dst, m.RoutingKey)
	}
	if mask&hasProps != 0 {
		dst = appendProps(dst, &m.Props)
	}
	if mask&hasBody != 0 {
		dst = appendBytes(dst, m.Body)
	}
	if mask&hasOrigin != 0 {
		dst = append(dst, byte(m.Origin))
	}
	if mask&hasArrived != 0 {
		dst = binary.AppendVarint(dst, m.Arrived)
	}
	if mask&hasDelayUntil != 0 {
		dst = binary.AppendVarint(dst, m.DelayUntil)
	}
	if mask&hasGroupID != 0 {
		dst = appendString(dst, m.GroupID)
	}
	if mask&hasDedupID != 0 {
		dst = appendString(dst, m.DedupID)
	}
	if mask&hasMQTT != 0 {
		dst = appendMQTT(dst, m.MQTT)
	}
	if mask&hasAWS != 0 {
		dst = appendAWS(dst, m.AWS)
	}
	return dst
}

func messageMask(m *Message) uint64 {
	var mask uint64
	set := func(bit uint64, present bool) {
		if present {
			mask |= bit
		}
	}
	set(hasID, m.ID != 0)
	set(hasExchange, m.Exchange != "")
	set(hasRoutingKey, m.RoutingKey != "")
	set(hasProps, propsMask(&m.Props) != 0 || m.Props.Flags != 0)
	set(hasBody, len(m.Body) > 0)
	set(hasOrigin, m.Origin != 0)
	set(hasArrived, m.Arrived != 0)
	set(hasDelayUntil, m.DelayUntil != 0)
	set(hasGroupID, m.GroupID != "")
	set(hasDedupID, m.DedupID != "")
	set(hasMQTT, m.MQTT != nil)
	set(hasAWS, m.AWS != nil)
	return mask
}

// propsMask has one bit per Properties field after Flags, in declaration
// order, set when the field is not zero.
func propsMask(p *Properties) uint16 {
	var mask uint16
	for i, present := range [...]bool{
		p.ContentType != "", p.ContentEncoding != "", len(p.Headers) > 0,
		p.DeliveryMode != 0, p.Priority != 0, p.CorrelationID != "",
		p.ReplyTo != "", p.Expiration != "", p.MessageID != "",
		p.Timestamp != 0, p.Type != "", p.UserID != "", p.AppID != "",
		p.ClusterID != "",
	} {
		if present {
			mask |= 1 << i
		}
	}
	return mask
}

func appendProps(dst []byte, p *Properties) []byte {
	mask := propsMask(p)
	dst = binary.BigEndian.AppendUint16(dst, uint16(p.Flags))
	dst = binary.BigEndian.AppendUint16(dst, mask)
	strs := [...]*string{0: &p.ContentType, 1: &p.ContentEncoding, 5: &p.CorrelationID,
		6: &p.ReplyTo, 7: &p.Expiration, 8: &p.MessageID, 10: &p.Type, 11: &p.UserID,
		12: &p.AppID, 13: &p.ClusterID}
	for i := range 14 {
		if mask&(1<<i) == 0 {
			continue
		}
		switch i {
		case 2:
			dst = appendTable(dst, p.Headers, 0)
		case 3:
			dst = append(dst, p.DeliveryMode)
		case 4:
			dst = append(dst, p.Priority)
		case 9:
			dst = binary.AppendVarint(dst, p.Timestamp)
		default:
			dst = appendString(dst, *strs[i])
		}
	}
	return dst
}

func appendMQTT(dst []byte, q *MQTTMeta) []byte {
	dst = appendString(dst, q.Topic)
	dst = append(dst, q.QoS, boolByte(q.Retain), q.PayloadFormat, boolByte(q.HasExpiry))
	dst = binary.AppendUvarint(dst, uint64(len(q.UserProperties)))
	for _, up := range q.UserProperties {
		dst = appendString(dst, up.Key)
		dst = appendString(dst, up.Value)
	}
	dst = appendString(dst, q.ResponseTopic)
	dst = appendBytes(dst, q.CorrelationData)
	dst = binary.AppendUvarint(dst, uint64(q.ExpirySeconds))
	return appendString(dst, q.ContentType)
}

func appendAWS(dst []byte, a *AWSMeta) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(a.SQSAttributes)))
	for _, at := range a.SQSAttributes {
		dst = appendString(dst, at.Name)
		dst = appendString(dst, at.DataType)
		dst = appendString(dst, at.StringValue)
		dst = appendBytes(dst, at.BinaryValue)
	}
	for _, s := range [...]string{a.MessageGroupID, a.DeduplicationID, a.SNSSubject,
		a.PartitionKey, a.ExplicitHashKey} {
		dst = appendString(dst, s)
	}
	return dst
}

func appendTable(dst []byte, t Table, depth int) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(t)))
	for _, f := range t {
		dst = appendString(dst, f.Key)
		dst = appendValue(dst, f.Value, depth+1)
	}
	return dst
}

func appendValue(dst []byte, v any, depth int) []byte {
	if depth >= MaxNestingDepth {
		return append(dst, tagVoid)
	}
	switch x := v.(type) {
	case bool:
		return append(dst, tagBool, boolByte(x))
	case int8:
		return append(dst, tagInt8, byte(x))
	case uint8:
		return append(dst, tagUint8, x)
	case int16:
		return binary.BigEndian.AppendUint16(append(dst, tagInt16), uint16(x))
	case uint16:
		return binary.BigEndian.AppendUint16(append(dst, tagUint16), x)
	case int32:
		return binary.AppendVarint(append(dst, tagInt32), int64(x))
	case uint32:
		return binary.AppendUvarint(append(dst, tagUint32), uint64(x))
	case int64:
		return binary.AppendVarint(append(dst, tagInt64), x)
	case int:
		return binary.AppendVarint(append(dst, tagInt64), int64(x))
	case uint64:
		return binary.AppendUvarint(append(dst, tagUint64), x)
	case uint:
		return binary.AppendUvarint(append(dst, tagUint64), uint64(x))
	case float32:
		return binary.BigEndian.AppendUint32(append(dst, tagFloat32), math.Float32bits(x))
	case float64:
		return binary.BigEndian.AppendUint64(append(dst, tagFloat64), math.Float64bits(x))
	case Decimal:
		return binary.BigEndian.AppendUint32(append(dst, tagDecimal, x.Scale), uint32(x.Value))
	case string:
		return appendString(append(dst, tagString), x)
	case []byte:
		return appendBytes(append(dst, tagBytes), x)
	case time.Time:
		dst = binary.AppendVarint(append(dst, tagTime), x.Unix())
		return binary.AppendUvarint(dst, uint64(x.Nanosecond()))
	case Table:
		return appendTable(append(dst, tagTable), x, depth)
	case []any:
		dst = binary.AppendUvarint(append(dst, tagArray), uint64(len(x)))
		for _, e := range x {
			dst = appendValue(dst, e, depth+1)
		}
		return dst
	default:
		return append(dst, tagVoid)
	}
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// Unmarshal decodes a message written by Marshal. It copies what it keeps,
// so data may be reused once it returns. It never panics: garbage yields an
// error wrapping ErrTruncated, ErrEncodingVersion or ErrMalformed.
func Unmarshal(data []byte) (*Message, error) {
	m := &Message{}
	if err := unmarshal(data, m, false); err != nil {
		return nil, err
	}
	return m, nil
}

// UnmarshalView decodes like Unmarshal into *m, except that m.Body is a
// view of data (capacity capped: appending to it copies) rather than a
// copy: for a reader that is done with the body before data changes, as
// Kinesis GetRecords is once it has encoded the record. Everything else
// is copied. On error *m is left partly decoded.
func UnmarshalView(data []byte, m *Message) error {
	*m = Message{}
	return unmarshal(data, m, true)
}

func unmarshal(data []byte, m *Message, viewBody bool) error {
	if len(data) == 0 {
		return ErrTruncated
	}
	if data[0] != EncodingVersion {
		return fmt.Errorf("%w: %d", ErrEncodingVersion, data[0])
	}
	d := decoder{buf: data[1:], viewBody: viewBody}
	d.message(m)
	if d.err == nil && len(d.buf) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(d.buf))
	}
	return d.err
}
