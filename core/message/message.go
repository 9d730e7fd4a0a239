// Package message holds Junction's one canonical message, shared by every
// face, the core router and the store. It is data only: no routing, no I/O.
//
// Header values keep every AMQP 0-9-1 field-table type (RabbitMQ's dialect)
// by their Go type:
//
//	t bool        -> bool
//	b int8        -> int8          B uint8   -> uint8
//	s int16       -> int16         u uint16  -> uint16
//	I int32       -> int32         i uint32  -> uint32
//	l int64       -> int64         L uint64  -> uint64  (RabbitMQ reads 'l')
//	f float32     -> float32       d float64 -> float64
//	D decimal     -> Decimal
//	S long string -> string (an AMQP longstr is bytes; Go strings hold any bytes)
//	x byte array  -> []byte
//	A array       -> []any (elements of these same types)
//	T timestamp   -> time.Time (seconds precision on the wire)
//	F table       -> Table
//	V void        -> nil
//
// The AMQP codec (protocol/amqp091) encodes and decodes Table directly, so
// an AMQP publish reaches the core without a conversion step.
package message

import "time"

// Face names the protocol a message entered through.
type Face uint8

// The faces.
const (
	FaceCore Face = iota // published by the core itself (dead-lettering, management)
	FaceAMQP
	FaceMQTT
	FaceSQS
	FaceSNS
	FaceKinesis
)

var faceNames = [...]string{"core", "amqp", "mqtt", "sqs", "sns", "kinesis"}

func (f Face) String() string {
	if int(f) < len(faceNames) {
		return faceNames[f]
	}
	return "unknown"
}

// Field is one header entry. Tables allow repeated keys and keep order.
type Field struct {
	Key   string
	Value any
}

// Table is an ordered AMQP field table.
type Table []Field

// Get returns the first value stored under key.
func (t Table) Get(key string) (any, bool) {
	for i := range t {
		if t[i].Key == key {
			return t[i].Value, true
		}
	}
	return nil, false
}

// Set replaces the first value under key or appends one, returning the table.
func (t Table) Set(key string, v any) Table {
	for i := range t {
		if t[i].Key == key {
			t[i].Value = v
			return t
		}
	}
	return append(t, Field{Key: key, Value: v})
}

// Delete removes every entry under key.
func (t Table) Delete(key string) Table {
	out := t[:0]
	for _, f := range t {
		if f.Key != key {
			out = append(out, f)
		}
	}
	return out
}

// Decimal is an AMQP decimal value: Value × 10^-Scale.
type Decimal struct {
	Scale uint8
	Value int32
}

// Properties are the AMQP basic properties. A property is present when its
// bit is set in Flags (so an empty string and an absent one differ).
type Properties struct {
	Flags           PropFlag
	ContentType     string
	ContentEncoding string
	Headers         Table
	DeliveryMode    uint8 // 1 transient, 2 persistent
	Priority        uint8
	CorrelationID   string
	ReplyTo         string
	Expiration      string // milliseconds as a decimal string, as AMQP carries it
	MessageID       string
	Timestamp       int64 // seconds since the epoch
	Type            string
	UserID          string
	AppID           string
	ClusterID       string
}

// PropFlag marks which Properties are present; bit values are the AMQP
// basic class property flags.
type PropFlag uint16

// The property flags, as AMQP 0-9-1 numbers them.
const (
	FlagContentType     PropFlag = 0x8000
	FlagContentEncoding PropFlag = 0x4000
	FlagHeaders         PropFlag = 0x2000
	FlagDeliveryMode    PropFlag = 0x1000
	FlagPriority        PropFlag = 0x0800
	FlagCorrelationID   PropFlag = 0x0400
	FlagReplyTo         PropFlag = 0x0200
	FlagExpiration      PropFlag = 0x0100
	FlagMessageID       PropFlag = 0x0080
	FlagTimestamp       PropFlag = 0x0040
	FlagType            PropFlag = 0x0020
	FlagUserID          PropFlag = 0x0010
	FlagAppID           PropFlag = 0x0008
	FlagClusterID       PropFlag = 0x0004
)

// Persistent reports whether the message asks to survive a restart.
func (p *Properties) Persistent() bool { return p.DeliveryMode == 2 }

// UserProperty is an MQTT 5 user property; repeated keys and order are kept.
type UserProperty struct {
	Key, Value string
}

// MQTTMeta is what an MQTT 5 publish carries beyond AMQP properties.
type MQTTMeta struct {
	Topic           string // the MQTT topic as published
	QoS             uint8
	Retain          bool
	UserProperties  []UserProperty
	ResponseTopic   string
	CorrelationData []byte
	PayloadFormat   uint8 // 0 bytes, 1 UTF-8
	HasExpiry       bool
	ExpirySeconds   uint32
	ContentType     string
}

// SQSAttribute is one SQS message attribute exactly as sent: DataType keeps
// its custom label ("Number.float", "Binary.custom") so MD5OfMessageAttributes
// recomputes identically.
type SQSAttribute struct {
	Name        string
	DataType    string
	StringValue string
	BinaryValue []byte
}

// AWSMeta is what the SQS, SNS and Kinesis faces carry.
type AWSMeta struct {
	SQSAttributes   []SQSAttribute
	MessageGroupID  string
	DeduplicationID string
	SNSSubject      string
	PartitionKey    string
	ExplicitHashKey string
}

// Message is the canonical message. It is immutable once published: the
// router shares one *Message among every queue it lands in.
type Message struct {
	ID         uint64 // broker-unique publish id, assigned by the core
	Exchange   string
	RoutingKey string
	Props      Properties
	Body       []byte
	Origin     Face
	Arrived    int64  // unix nanoseconds when the core accepted it
	DelayUntil int64  // unix nanoseconds before which no queue shows it (SQS DelaySeconds); 0 = none
	GroupID    string // FIFO message group ("" = none): a group is blocked while one of its messages is leased or unacked
	DedupID    string // deduplication id for queues with a dedup window ("" = none)
	MQTT       *MQTTMeta
	AWS        *AWSMeta
}

// Size is the message's accounting size in bytes (body only, as RabbitMQ
// counts x-max-length-bytes).
func (m *Message) Size() int { return len(m.Body) }

// ArrivedTime returns Arrived as a time.
func (m *Message) ArrivedTime() time.Time { return time.Unix(0, m.Arrived) }
