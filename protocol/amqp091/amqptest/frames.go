package amqptest

import (
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/protocol/amqp091"
)

func methodFrame(name string, ch uint16, m amqp091.Method, payload []byte) Frame {
	return Frame{Name: name, Wire: frame(1, ch, payload), Type: 1, Channel: ch, Method: m}
}

// Frames are golden frames in the order a session could carry them.
var Frames = []Frame{
	methodFrame("connection.start from RabbitMQ", 0, &amqp091.ConnectionStart{
		VersionMajor: 0, VersionMinor: 9, ServerProperties: serverProps,
		Mechanisms: "AMQPLAIN PLAIN", Locales: "en_US",
	}, method(10, 10, o(0), o(9), serverPropsWire, lstr("AMQPLAIN PLAIN"), lstr("en_US"))),

	methodFrame("connection.start-ok", 0, &amqp091.ConnectionStartOk{
		ClientProperties: message.Table{{Key: "product", Value: "junction-test"}},
		Mechanism:        "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US",
	}, method(10, 11, tbl(sstr("product"), o('S'), lstr("junction-test")),
		sstr("PLAIN"), lstr("\x00guest\x00guest"), sstr("en_US"))),

	methodFrame("connection.tune", 0, &amqp091.ConnectionTune{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 60},
		method(10, 30, s16(2047), l32(131072), s16(60))),

	methodFrame("connection.tune-ok", 0, &amqp091.ConnectionTuneOk{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 60},
		method(10, 31, s16(2047), l32(131072), s16(60))),

	methodFrame("connection.open", 0, &amqp091.ConnectionOpen{VirtualHost: "/"},
		method(10, 40, sstr("/"), sstr(""), o(0))),

	methodFrame("connection.open-ok", 0, &amqp091.ConnectionOpenOk{}, method(10, 41, sstr(""))),

	methodFrame("channel.open", 1, &amqp091.ChannelOpen{}, method(20, 10, sstr(""))),

	methodFrame("channel.open-ok", 1, &amqp091.ChannelOpenOk{}, method(20, 11, lstr(""))),

	methodFrame("confirm.select", 1, &amqp091.ConfirmSelect{}, method(85, 10, o(0))),

	methodFrame("tx.select", 1, &amqp091.TxSelect{}, method(90, 10)),

	methodFrame("exchange.declare durable topic", 1, &amqp091.ExchangeDeclare{
		Exchange: "orders", Type: "topic", Durable: true,
	}, method(40, 10, s16(0), sstr("orders"), sstr("topic"), o(0x02), tbl())),

	methodFrame("queue.declare with arguments", 1, &amqp091.QueueDeclare{
		Queue: "q1", Durable: true, NoWait: true,
		Arguments: message.Table{
			{Key: "x-queue-type", Value: "quorum"},
			{Key: "x-message-ttl", Value: int32(60000)},
		},
	}, method(50, 10, s16(0), sstr("q1"), o(0x12),
		tbl(sstr("x-queue-type"), o('S'), lstr("quorum"), sstr("x-message-ttl"), o('I'), l32(60000)))),

	methodFrame("queue.declare-ok", 1, &amqp091.QueueDeclareOk{Queue: "q1", MessageCount: 7, ConsumerCount: 1},
		method(50, 11, sstr("q1"), l32(7), l32(1))),

	methodFrame("basic.qos", 1, &amqp091.BasicQos{PrefetchCount: 100, Global: true},
		method(60, 10, l32(0), s16(100), o(1))),

	methodFrame("basic.consume no-ack exclusive", 1, &amqp091.BasicConsume{
		Queue: "q1", ConsumerTag: "ctag-1", NoAck: true, Exclusive: true,
	}, method(60, 20, s16(0), sstr("q1"), sstr("ctag-1"), o(0x06), tbl())),

	methodFrame("basic.publish mandatory", 1, &amqp091.BasicPublish{
		Exchange: "amq.topic", RoutingKey: "a.b.c", Mandatory: true,
	}, method(60, 40, s16(0), sstr("amq.topic"), sstr("a.b.c"), o(0x01))),

	{Name: "content header with every property", Wire: frame(2, 1, allPropsWire), Type: 2, Channel: 1,
		Header: &amqp091.ContentHeader{ClassID: 60, BodySize: 5, Props: allProps}},

	{Name: "content header persistent only", Wire: frame(2, 1, s16(60), s16(0), ll64(0), s16(0x1000), o(2)),
		Type: 2, Channel: 1, Header: &amqp091.ContentHeader{ClassID: 60,
			Props: message.Properties{Flags: message.FlagDeliveryMode, DeliveryMode: 2}}},

	{Name: "body", Wire: frame(3, 1, []byte("hello")), Type: 3, Channel: 1, Body: []byte("hello")},

	methodFrame("basic.deliver redelivered", 1, &amqp091.BasicDeliver{
		ConsumerTag: "ctag-1", DeliveryTag: 42, Redelivered: true, Exchange: "amq.topic", RoutingKey: "a.b.c",
	}, method(60, 60, sstr("ctag-1"), ll64(42), o(1), sstr("amq.topic"), sstr("a.b.c"))),

	methodFrame("basic.ack multiple", 1, &amqp091.BasicAck{DeliveryTag: 42, Multiple: true},
		method(60, 80, ll64(42), o(1))),

	methodFrame("basic.nack multiple requeue", 1, &amqp091.BasicNack{DeliveryTag: 9, Multiple: true, Requeue: true},
		method(60, 120, ll64(9), o(0x03))),

	methodFrame("basic.reject", 1, &amqp091.BasicReject{DeliveryTag: 3}, method(60, 90, ll64(3), o(0))),

	methodFrame("channel.close not found", 1, &amqp091.ChannelClose{
		ReplyCode: 404, ReplyText: "NOT_FOUND - no queue 'q2' in vhost '/'", FailedClassID: 50, FailedMethodID: 10,
	}, method(20, 40, s16(404), sstr("NOT_FOUND - no queue 'q2' in vhost '/'"), s16(50), s16(10))),

	methodFrame("connection.close", 0, &amqp091.ConnectionClose{ReplyCode: 200, ReplyText: "Goodbye"},
		method(10, 50, s16(200), sstr("Goodbye"), s16(0), s16(0))),

	{Name: "heartbeat", Wire: frame(8, 0), Type: 8, Heartbeat: true},
}

// Stream returns every golden frame's bytes after the protocol header, as
// a client and server would interleave them on one socket.
func Stream() []byte {
	out := []byte(amqp091.ProtocolHeader)
	for _, f := range Frames {
		out = append(out, f.Wire...)
	}
	return out
}
