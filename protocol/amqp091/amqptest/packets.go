// Package amqptest holds golden AMQP 0-9-1 byte sequences with their
// decoded values, shared by the codec's tests and the server's. The bytes
// are spelled out field by field with the tiny helpers below, independent
// of the codec's Writer, and were checked by hand against the spec
// (AMQP 0-9-1 4.2) and RabbitMQ's field-table dialect.
package amqptest

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// Frame is one golden frame: its bytes on the wire and what they decode
// to. Exactly one of Method, Header, Body and Heartbeat describes the
// payload.
type Frame struct {
	Name      string
	Wire      []byte
	Type      uint8
	Channel   uint16
	Method    amqp091.Method
	Header    *amqp091.ContentHeader
	Body      []byte
	Heartbeat bool
}

// Table is one golden field table: Wire includes the uint32 length prefix.
type Table struct {
	Name  string
	Wire  []byte
	Table message.Table
}

// Byte-spelling helpers: each appends one AMQP field, big-endian.

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func o(v uint8) []byte     { return []byte{v} }
func s16(v uint16) []byte  { return binary.BigEndian.AppendUint16(nil, v) }
func l32(v uint32) []byte  { return binary.BigEndian.AppendUint32(nil, v) }
func ll64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
func sstr(s string) []byte { return append([]byte{uint8(len(s))}, s...) }
func lstr(s string) []byte { return append(l32(uint32(len(s))), s...) }

// tbl wraps encoded fields in a uint32 byte length.
func tbl(fields ...[]byte) []byte {
	body := cat(fields...)
	return append(l32(uint32(len(body))), body...)
}

// frame wraps a payload: type, channel, size, payload, 0xCE.
func frame(typ uint8, ch uint16, payload ...[]byte) []byte {
	p := cat(payload...)
	return cat(o(typ), s16(ch), l32(uint32(len(p))), p, o(0xCE))
}

func method(classID, methodID uint16, args ...[]byte) []byte {
	return cat(append([][]byte{s16(classID), s16(methodID)}, args...)...)
}

// RabbitMQ 3.13's connection.start server-properties, trimmed to the
// fields that matter and keeping its order.
var serverPropsWire = tbl(
	sstr("capabilities"), o('F'), tbl(
		sstr("publisher_confirms"), o('t'), o(1),
		sstr("exchange_exchange_bindings"), o('t'), o(1),
		sstr("basic.nack"), o('t'), o(1),
		sstr("consumer_cancel_notify"), o('t'), o(1),
		sstr("connection.blocked"), o('t'), o(1),
		sstr("authentication_failure_close"), o('t'), o(1),
		sstr("per_consumer_qos"), o('t'), o(1),
		sstr("direct_reply_to"), o('t'), o(1),
	),
	sstr("cluster_name"), o('S'), lstr("rabbit@localhost"),
	sstr("platform"), o('S'), lstr("Erlang/OTP 26.2.1"),
	sstr("product"), o('S'), lstr("RabbitMQ"),
	sstr("version"), o('S'), lstr("3.13.0"),
)

var serverProps = message.Table{
	{Key: "capabilities", Value: message.Table{
		{Key: "publisher_confirms", Value: true},
		{Key: "exchange_exchange_bindings", Value: true},
		{Key: "basic.nack", Value: true},
		{Key: "consumer_cancel_notify", Value: true},
		{Key: "connection.blocked", Value: true},
		{Key: "authentication_failure_close", Value: true},
		{Key: "per_consumer_qos", Value: true},
		{Key: "direct_reply_to", Value: true},
	}},
	{Key: "cluster_name", Value: "rabbit@localhost"},
	{Key: "platform", Value: "Erlang/OTP 26.2.1"},
	{Key: "product", Value: "RabbitMQ"},
	{Key: "version", Value: "3.13.0"},
}

// Tables are golden field tables.
var Tables = []Table{
	{Name: "empty", Wire: tbl(), Table: nil},
	{Name: "every type", Wire: tbl(
		sstr("t"), o('t'), o(1),
		sstr("b"), o('b'), o(0xff),
		sstr("B"), o('B'), o(0xff),
		sstr("s"), o('s'), s16(0xfffe),
		sstr("u"), o('u'), s16(0xfffe),
		sstr("I"), o('I'), l32(0xfffffffd),
		sstr("i"), o('i'), l32(0xfffffffd),
		sstr("l"), o('l'), ll64(0xfffffffffffffffc),
		sstr("L"), o('L'), ll64(0xfffffffffffffffc),
		sstr("f"), o('f'), l32(math.Float32bits(1.5)),
		sstr("d"), o('d'), ll64(math.Float64bits(-2.25)),
		sstr("D"), o('D'), o(2), l32(12345),
		sstr("S"), o('S'), lstr("long string"),
		sstr("x"), o('x'), lstr("\x00\x01\xff"),
		sstr("A"), o('A'), tbl(o('I'), l32(1), o('S'), lstr("two"), o('V')),
		sstr("T"), o('T'), ll64(1700000000),
		sstr("F"), o('F'), tbl(sstr("k"), o('S'), lstr("v")),
		sstr("V"), o('V'),
	), Table: message.Table{
		{Key: "t", Value: true},
		{Key: "b", Value: int8(-1)},
		{Key: "B", Value: uint8(255)},
		{Key: "s", Value: int16(-2)},
		{Key: "u", Value: uint16(65534)},
		{Key: "I", Value: int32(-3)},
		{Key: "i", Value: uint32(4294967293)},
		{Key: "l", Value: int64(-4)},
		{Key: "L", Value: uint64(18446744073709551612)},
		{Key: "f", Value: float32(1.5)},
		{Key: "d", Value: float64(-2.25)},
		{Key: "D", Value: message.Decimal{Scale: 2, Value: 12345}},
		{Key: "S", Value: "long string"},
		{Key: "x", Value: []byte{0, 1, 0xff}},
		{Key: "A", Value: []any{int32(1), "two", nil}},
		{Key: "T", Value: time.Unix(1700000000, 0).UTC()},
		{Key: "F", Value: message.Table{{Key: "k", Value: "v"}}},
		{Key: "V", Value: nil},
	}},
	{Name: "repeated keys keep order", Wire: tbl(
		sstr("k"), o('I'), l32(2),
		sstr("a"), o('t'), o(0),
		sstr("k"), o('I'), l32(1),
	), Table: message.Table{
		{Key: "k", Value: int32(2)},
		{Key: "a", Value: false},
		{Key: "k", Value: int32(1)},
	}},
	{Name: "rabbitmq server properties", Wire: serverPropsWire, Table: serverProps},
}

// allPropsWire is a basic content header payload with all fourteen
// properties present (flags 0xFFFC).
var allPropsWire = cat(
	s16(60), s16(0), ll64(5), s16(0xfffc),
	sstr("application/json"),
	sstr("gzip"),
	tbl(sstr("x-retry"), o('I'), l32(3), sstr("trace"), o('S'), lstr("abc")),
	o(2), // delivery-mode
	o(9), // priority
	sstr("corr-1"),
	sstr("amq.rabbitmq.reply-to"),
	sstr("60000"),
	sstr("msg-1"),
	ll64(1700000000),
	sstr("order.created"),
	sstr("guest"),
	sstr("shop"),
	sstr("cluster-a"),
)

var allProps = message.Properties{
	Flags:           0xfffc,
	ContentType:     "application/json",
	ContentEncoding: "gzip",
	Headers:         message.Table{{Key: "x-retry", Value: int32(3)}, {Key: "trace", Value: "abc"}},
	DeliveryMode:    2,
	Priority:        9,
	CorrelationID:   "corr-1",
	ReplyTo:         "amq.rabbitmq.reply-to",
	Expiration:      "60000",
	MessageID:       "msg-1",
	Timestamp:       1700000000,
	Type:            "order.created",
	UserID:          "guest",
	AppID:           "shop",
	ClusterID:       "cluster-a",
}
