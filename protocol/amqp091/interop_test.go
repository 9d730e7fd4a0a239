package amqp091_test

import (
	"context"
	"net"
	"reflect"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// fakeServer speaks just enough AMQP over one connection, with this
// codec, to run amqp091-go through a handshake, a declare, a publish, a
// consume and a close: amqp091-go encodes what we decode and decodes what
// we encode.
type fakeServer struct {
	t    *testing.T
	conn net.Conn
	r    *amqp091.Reader
	w    amqp091.Writer
	dec  amqp091.Decoder
}

func (s *fakeServer) read() amqp091.Frame {
	f, err := s.r.ReadFrame()
	if err != nil {
		s.t.Errorf("server read: %v", err)
		panic(err)
	}
	return f
}

func (s *fakeServer) expect(want amqp091.Method) amqp091.Method {
	f := s.read()
	m, err := amqp091.DecodeMethod(f.Payload)
	if err != nil || reflect.TypeOf(m) != reflect.TypeOf(want) {
		s.t.Errorf("server: got %T (%v), want %T", m, err, want)
		panic("unexpected method")
	}
	return m
}

func (s *fakeServer) send(ch uint16, m amqp091.Method) {
	s.w.Reset()
	if err := s.w.WriteMethod(ch, m); err != nil {
		panic(err)
	}
	s.flush()
}

func (s *fakeServer) flush() {
	if _, err := s.conn.Write(s.w.Buf); err != nil {
		panic(err)
	}
}

func (s *fakeServer) handshake() {
	if err := s.r.ReadProtocolHeader(); err != nil {
		panic(err)
	}
	s.send(0, &amqp091.ConnectionStart{VersionMinor: 9, Mechanisms: "PLAIN", Locales: "en_US",
		ServerProperties: message.Table{{Key: "product", Value: "junction"},
			{Key: "capabilities", Value: message.Table{{Key: "basic.nack", Value: true}}}}})
	ok := s.expect(&amqp091.ConnectionStartOk{}).(*amqp091.ConnectionStartOk)
	if ok.Mechanism != "PLAIN" || ok.Response != "\x00guest\x00guest" {
		s.t.Errorf("start-ok %+v", ok)
	}
	if v, _ := ok.ClientProperties.Get("product"); v != "AMQP 0.9.1 Client" {
		s.t.Errorf("client product %v", v)
	}
	s.send(0, &amqp091.ConnectionTune{ChannelMax: 16, FrameMax: 4096})
	s.expect(&amqp091.ConnectionTuneOk{})
	s.r.SetFrameMax(4096)
	s.w.FrameMax = 4096
	if open := s.expect(&amqp091.ConnectionOpen{}).(*amqp091.ConnectionOpen); open.VirtualHost != "/" {
		s.t.Errorf("vhost %q", open.VirtualHost)
	}
	s.send(0, &amqp091.ConnectionOpenOk{})
	s.expect(&amqp091.ChannelOpen{})
	s.send(1, &amqp091.ChannelOpenOk{})
}

// interopArgs covers every value type amqp091-go encodes, and the Go type
// this codec decodes each to.
var interopArgs = map[string][2]any{
	"bool":    {true, true},
	"byte":    {byte(200), uint8(200)},
	"int8":    {int8(-5), int8(-5)},
	"int16":   {int16(-300), int16(-300)},
	"uint16":  {uint16(60000), uint16(60000)},
	"int32":   {int32(-70000), int32(-70000)},
	"uint32":  {uint32(4000000000), uint32(4000000000)},
	"int64":   {int64(-1 << 40), int64(-1 << 40)},
	"float32": {float32(1.5), float32(1.5)},
	"float64": {2.25, 2.25},
	"decimal": {amqp.Decimal{Scale: 2, Value: 314}, message.Decimal{Scale: 2, Value: 314}},
	"string":  {"quorum", "quorum"},
	"bytes":   {[]byte{1, 2}, []byte{1, 2}},
	"array":   {[]any{int32(1), "a"}, []any{int32(1), "a"}},
	"time":    {time.Unix(1700000000, 0), time.Unix(1700000000, 0).UTC()},
	"table":   {amqp.Table{"k": "v"}, message.Table{{Key: "k", Value: "v"}}},
	"void":    {nil, nil},
}

func (s *fakeServer) declareAndPublish() {
	qd := s.expect(&amqp091.QueueDeclare{}).(*amqp091.QueueDeclare)
	if qd.Queue != "q1" || !qd.Durable || len(qd.Arguments) != len(interopArgs) {
		s.t.Errorf("queue.declare %+v", qd)
	}
	for k, v := range interopArgs {
		if got, _ := qd.Arguments.Get(k); !reflect.DeepEqual(got, v[1]) {
			s.t.Errorf("argument %s = %#v, want %#v", k, got, v[1])
		}
	}
	s.send(1, &amqp091.QueueDeclareOk{Queue: "q1"})
	m, err := s.dec.DecodeMethod(s.read().Payload)
	if p, ok := m.(*amqp091.BasicPublish); err != nil || !ok || p.RoutingKey != "q1" || !p.Mandatory {
		s.t.Errorf("basic.publish %#v %v", m, err)
	}
	h, err := s.dec.DecodeHeader(s.read().Payload)
	if err != nil || h.BodySize != 5 || !reflect.DeepEqual(h.Props, interopProps) {
		s.t.Errorf("header %#v %v\nwant %#v", h, err, interopProps)
	}
	if body := s.read().Payload; string(body) != "hello" {
		s.t.Errorf("body %q", body)
	}
}

var interopProps = message.Properties{
	Flags: message.FlagContentType | message.FlagHeaders | message.FlagDeliveryMode |
		message.FlagPriority | message.FlagCorrelationID | message.FlagReplyTo | message.FlagExpiration |
		message.FlagMessageID | message.FlagTimestamp | message.FlagType | message.FlagUserID | message.FlagAppID,
	ContentType: "text/plain", Headers: message.Table{{Key: "h", Value: int32(1)}},
	DeliveryMode: 2, Priority: 3, CorrelationID: "c", ReplyTo: "r", Expiration: "1000",
	MessageID: "m", Timestamp: 1700000000, Type: "t", UserID: "guest", AppID: "a",
}

func (s *fakeServer) consumeAndClose(body []byte) {
	s.expect(&amqp091.BasicConsume{})
	s.send(1, &amqp091.BasicConsumeOk{ConsumerTag: "ctag"})
	s.w.Reset()
	err := s.w.WriteContent(1, &amqp091.BasicDeliver{ConsumerTag: "ctag", DeliveryTag: 1, Redelivered: true,
		Exchange: "", RoutingKey: "q1"}, &interopProps, body)
	if err != nil {
		panic(err)
	}
	s.flush()
	s.expect(&amqp091.ConnectionClose{})
	s.send(0, &amqp091.ConnectionCloseOk{})
}

func TestInteropAmqp091Go(t *testing.T) {
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	s := &fakeServer{t: t, conn: server, r: amqp091.NewReader(server, amqp091.FrameMinSize)}
	body := make([]byte, 10000) // split into three body frames at frame_max 4096
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer server.Close()             // unblocks the client if the server gives up
		defer func() { _ = recover() }() // a failed expectation was reported with t.Errorf
		s.handshake()
		s.declareAndPublish()
		s.consumeAndClose(body)
	}()
	runClient(t, client, body)
	<-done
}

func runClient(t *testing.T, c net.Conn, body []byte) {
	conn, err := amqp.DialConfig("amqp://guest:guest@junction/", amqp.Config{
		Dial: func(string, string) (net.Conn, error) { return c, nil },
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	args := amqp.Table{}
	for k, v := range interopArgs {
		args[k] = v[0]
	}
	if _, err := ch.QueueDeclare("q1", true, false, false, false, args); err != nil {
		t.Fatalf("queue.declare: %v", err)
	}
	pub := amqp.Publishing{ContentType: "text/plain", Headers: amqp.Table{"h": int32(1)}, DeliveryMode: 2,
		Priority: 3, CorrelationId: "c", ReplyTo: "r", Expiration: "1000", MessageId: "m",
		Timestamp: time.Unix(1700000000, 0), Type: "t", UserId: "guest", AppId: "a", Body: []byte("hello")}
	if err := ch.PublishWithContext(context.Background(), "", "q1", true, false, pub); err != nil {
		t.Fatalf("publish: %v", err)
	}
	deliveries, err := ch.Consume("q1", "ctag", false, false, false, false, nil)
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	d := <-deliveries
	if d.DeliveryTag != 1 || !d.Redelivered || d.RoutingKey != "q1" || len(d.Body) != len(body) ||
		d.MessageId != "m" || d.Headers["h"] != int32(1) || d.Timestamp.Unix() != 1700000000 || d.Priority != 3 {
		t.Errorf("delivery %+v", d)
	}
	if err := conn.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}
