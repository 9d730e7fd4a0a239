package amqp_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/persist"
)

// testServer is a server on 127.0.0.1:0 backed by the real core on an
// in-memory store.
type testServer struct {
	addr   string
	url    string
	broker *core.Broker
	srv    *amqp.Server
}

// newCore opens a core broker on an in-memory store, closed at cleanup.
func newCore(t testing.TB) *core.Broker {
	t.Helper()
	st, err := persist.Open("", persist.Options{InMemory: true, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := core.Open(core.Config{Store: st, Auth: auth.Options{KeyFile: t.TempDir() + "/auth.key"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = b.Close()
		_ = st.Close()
	})
	return b
}

// depth returns a queue's ready and unacked counts.
func (ts *testServer) depth(t testing.TB, name string) (ready, unacked int) {
	t.Helper()
	v, err := ts.broker.Vhost("/")
	if err != nil {
		t.Fatal(err)
	}
	q, err := v.Queue(name)
	if err != nil {
		return 0, 0
	}
	st := q.Stats()
	return st.Ready, st.Unacked
}

func startServer(t testing.TB, cfg amqp.Config) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := newCore(t)
	s := amqp.NewServer(amqp.NewCoreBroker(b), cfg)
	go s.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("server close: %v", err)
		}
	})
	addr := ln.Addr().String()
	return &testServer{addr: addr, url: "amqp://guest:guest@" + addr + "/", broker: b, srv: s}
}

func (ts *testServer) dial(t testing.TB) *rmq.Connection {
	t.Helper()
	c, err := rmq.Dial(ts.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (ts *testServer) channel(t testing.TB) (*rmq.Connection, *rmq.Channel) {
	t.Helper()
	c := ts.dial(t)
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return c, ch
}

// wantErr asserts err is an *rmq.Error with the code and reason.
func wantErr(t testing.TB, err error, code int, reason string) {
	t.Helper()
	var e *rmq.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want *amqp091.Error %d %q", err, err, code, reason)
	}
	if e.Code != code || e.Reason != reason {
		t.Fatalf("got %d %q, want %d %q", e.Code, e.Reason, code, reason)
	}
}

// closeErr waits for the close notification of a channel or connection.
func closeErr(t testing.TB, ch chan *rmq.Error) *rmq.Error {
	t.Helper()
	select {
	case e := <-ch:
		if e == nil {
			t.Fatal("closed without error")
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no close notification")
	}
	return nil
}

func recv(t testing.TB, ds <-chan rmq.Delivery) rmq.Delivery {
	t.Helper()
	select {
	case d, ok := <-ds:
		if !ok {
			t.Fatal("delivery channel closed")
		}
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery")
	}
	return rmq.Delivery{}
}

func noRecv(t testing.TB, ds <-chan rmq.Delivery, wait time.Duration) {
	t.Helper()
	select {
	case d := <-ds:
		t.Fatalf("unexpected delivery %q", d.Body)
	case <-time.After(wait):
	}
}

func TestHandshake(t *testing.T) {
	ts := startServer(t, amqp.Config{Version: "1.2.3"})
	c, err := rmq.DialConfig(ts.url, rmq.Config{Heartbeat: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := c.Properties
	if p["product"] != "Junction" || p["version"] != "1.2.3" {
		t.Errorf("product %v version %v", p["product"], p["version"])
	}
	caps, _ := p["capabilities"].(rmq.Table)
	for _, k := range []string{"publisher_confirms", "exchange_exchange_bindings", "basic.nack",
		"consumer_cancel_notify", "connection.blocked", "consumer_priorities",
		"authentication_failure_close", "per_consumer_qos", "direct_reply_to"} {
		if caps[k] != true {
			t.Errorf("capability %s = %v", k, caps[k])
		}
	}
	if c.Config.Heartbeat != 5*time.Second {
		t.Errorf("heartbeat %v, want 5s (the client's lower value)", c.Config.Heartbeat)
	}
	if c.Config.ChannelMax != 2047 || c.Config.FrameSize != 131072 {
		t.Errorf("channel_max %d frame_max %d", c.Config.ChannelMax, c.Config.FrameSize)
	}
}

func TestHandshakeErrors(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, err := rmq.Dial("amqp://guest:wrong@" + ts.addr + "/")
	if !errors.Is(err, rmq.ErrCredentials) {
		t.Errorf("bad password: %v, want ErrCredentials", err)
	}
	_, err = rmq.Dial("amqp://guest:guest@" + ts.addr + "/nope")
	wantErr(t, err, 530, "NOT_ALLOWED - vhost nope not found")
}

func TestPublishConsumeAck(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, ch := ts.channel(t)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Name) != len("amq.gen-")+22 || q.Name[:8] != "amq.gen-" {
		t.Errorf("server-named queue %q", q.Name)
	}
	if err := ch.ExchangeDeclare("x", "topic", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "a.*", "x", false, nil); err != nil {
		t.Fatal(err)
	}
	ds, err := ch.Consume(q.Name, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 300000) // spans several frames
	body[0], body[len(body)-1] = 'a', 'z'
	pub := rmq.Publishing{ContentType: "text/plain", Headers: rmq.Table{"k": "v"}, Body: body}
	if err := ch.Publish("x", "a.b", false, false, pub); err != nil {
		t.Fatal(err)
	}
	d := recv(t, ds)
	if len(d.Body) != len(body) || d.Body[0] != 'a' || d.Body[len(body)-1] != 'z' {
		t.Errorf("body of %d bytes", len(d.Body))
	}
	if d.ContentType != "text/plain" || d.Headers["k"] != "v" || d.RoutingKey != "a.b" || d.Exchange != "x" {
		t.Errorf("delivery %+v", d)
	}
	if err := d.Ack(false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		ready, unacked := ts.depth(t, q.Name)
		return ready == 0 && unacked == 0
	})
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met")
}

func TestNackRequeueRedelivered(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, ch := ts.channel(t)
	q, _ := ch.QueueDeclare("q", false, false, false, false, nil)
	ds, _ := ch.Consume(q.Name, "c1", false, false, false, false, nil)
	ch.Publish("", "q", false, false, rmq.Publishing{Body: []byte("m")})
	d := recv(t, ds)
	if d.Redelivered {
		t.Error("first delivery redelivered")
	}
	d.Nack(false, true)
	d = recv(t, ds)
	if !d.Redelivered {
		t.Error("requeued delivery not redelivered")
	}
	d.Reject(false)
	noRecv(t, ds, 50*time.Millisecond)
}

func TestGet(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, ch := ts.channel(t)
	ch.QueueDeclare("g", false, false, false, false, nil)
	if _, ok, err := ch.Get("g", false); ok || err != nil {
		t.Fatalf("get on empty: ok %v err %v", ok, err)
	}
	for _, b := range []string{"1", "2"} {
		ch.Publish("", "g", false, false, rmq.Publishing{Body: []byte(b)})
	}
	d, ok, err := ch.Get("g", false)
	if !ok || err != nil || string(d.Body) != "1" || d.MessageCount != 1 {
		t.Fatalf("get: %q count %d ok %v err %v", d.Body, d.MessageCount, ok, err)
	}
	if err := d.Ack(false); err != nil {
		t.Fatal(err)
	}
	d, ok, _ = ch.Get("g", true)
	if !ok || string(d.Body) != "2" || d.MessageCount != 0 {
		t.Fatalf("get no-ack: %q count %d", d.Body, d.MessageCount)
	}
	q, err := ch.QueueDeclarePassive("g", false, false, false, false, nil)
	if err != nil || q.Messages != 0 {
		t.Fatalf("passive declare: %+v %v", q, err)
	}
}

func TestMandatoryReturn(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, ch := ts.channel(t)
	returns := ch.NotifyReturn(make(chan rmq.Return, 1))
	confirms := ch.NotifyPublish(make(chan rmq.Confirmation, 1))
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	ch.Publish("", "nowhere", true, false, rmq.Publishing{Body: []byte("r")})
	select {
	case r := <-returns:
		if r.ReplyCode != 312 || r.ReplyText != "NO_ROUTE" || string(r.Body) != "r" || r.RoutingKey != "nowhere" {
			t.Errorf("return %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no basic.return")
	}
	select {
	case c := <-confirms:
		if !c.Ack || c.DeliveryTag != 1 {
			t.Errorf("confirm %+v", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no confirm")
	}
}

func TestConfirms(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, ch := ts.channel(t)
	ch.QueueDeclare("c", false, false, false, false, nil)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	const n = 200
	var dcs []*rmq.DeferredConfirmation
	for range n {
		dc, err := ch.PublishWithDeferredConfirm("", "c", false, false, rmq.Publishing{Body: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		dcs = append(dcs, dc)
	}
	for i, dc := range dcs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ok, err := dc.WaitContext(ctx)
		cancel()
		if !ok || err != nil {
			t.Fatalf("confirm %d: %v %v", i+1, ok, err)
		}
	}
}

func TestTx(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, ch := ts.channel(t)
	ch.QueueDeclare("t", false, false, false, false, nil)
	if err := ch.Tx(); err != nil {
		t.Fatal(err)
	}
	ch.Publish("", "t", false, false, rmq.Publishing{Body: []byte("1")})
	if _, ok, _ := ch.Get("t", true); ok {
		t.Fatal("uncommitted publish visible")
	}
	if err := ch.TxRollback(); err != nil {
		t.Fatal(err)
	}
	ch.Publish("", "t", false, false, rmq.Publishing{Body: []byte("2")})
	if err := ch.TxCommit(); err != nil {
		t.Fatal(err)
	}
	d, ok, _ := ch.Get("t", false)
	if !ok || string(d.Body) != "2" {
		t.Fatalf("after commit: %q %v", d.Body, ok)
	}
	d.Ack(false)
	if err := ch.TxRollback(); err != nil { // the ack is undone
		t.Fatal(err)
	}
	if _, unacked := ts.depth(t, "t"); unacked != 1 {
		t.Fatalf("unacked %d after rollback, want 1", unacked)
	}
	d.Ack(false)
	if err := ch.TxCommit(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, u := ts.depth(t, "t"); return u == 0 })
}

func TestQos(t *testing.T) {
	for _, global := range []bool{false, true} {
		ts := startServer(t, amqp.Config{})
		_, ch := ts.channel(t)
		ch.QueueDeclare("q", false, false, false, false, nil)
		if err := ch.Qos(2, 0, global); err != nil {
			t.Fatal(err)
		}
		ds, _ := ch.Consume("q", "", false, false, false, false, nil)
		for range 5 {
			ch.Publish("", "q", false, false, rmq.Publishing{Body: []byte("m")})
		}
		recv(t, ds)
		d := recv(t, ds)
		noRecv(t, ds, 50*time.Millisecond)
		d.Ack(true) // frees both slots
		recv(t, ds)
		recv(t, ds)
		noRecv(t, ds, 50*time.Millisecond)
	}
}

func TestConsumerPriorityAndCancel(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, ch := ts.channel(t)
	ch.QueueDeclare("p", false, false, false, false, nil)
	low, _ := ch.Consume("p", "low", true, false, false, false, nil)
	high, _ := ch.Consume("p", "high", true, false, false, false, rmq.Table{"x-priority": int32(10)})
	for range 3 {
		ch.Publish("", "p", false, false, rmq.Publishing{Body: []byte("m")})
	}
	for range 3 {
		recv(t, high)
	}
	noRecv(t, low, 20*time.Millisecond)
	if err := ch.Cancel("high", false); err != nil {
		t.Fatal(err)
	}
	ch.Publish("", "p", false, false, rmq.Publishing{Body: []byte("m")})
	recv(t, low)
	// Server-side cancel: the queue is deleted from another channel.
	_, ch2 := ts.channel(t)
	cancels := ch.NotifyCancel(make(chan string, 1))
	if _, err := ch2.QueueDelete("p", false, false, false); err != nil {
		t.Fatal(err)
	}
	select {
	case tag := <-cancels:
		if tag != "low" {
			t.Errorf("cancelled %q", tag)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no basic.cancel from the server")
	}
}

func TestDirectReplyTo(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, client := ts.channel(t)
	_, server := ts.channel(t)
	server.QueueDeclare("rpc", false, false, false, false, nil)
	reqs, _ := server.Consume("rpc", "", true, false, false, false, nil)
	replies, err := client.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	client.Publish("", "rpc", false, false, rmq.Publishing{ReplyTo: "amq.rabbitmq.reply-to", Body: []byte("ping")})
	req := recv(t, reqs)
	if len(req.ReplyTo) <= len("amq.rabbitmq.reply-to.") {
		t.Fatalf("reply-to %q not rewritten", req.ReplyTo)
	}
	server.Publish("", req.ReplyTo, false, false, rmq.Publishing{Body: []byte("pong")})
	if d := recv(t, replies); string(d.Body) != "pong" {
		t.Errorf("reply %q", d.Body)
	}
}

func TestCC(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, ch := ts.channel(t)
	ch.QueueDeclare("a", false, false, false, false, nil)
	ch.QueueDeclare("b", false, false, false, false, nil)
	ch.Publish("", "a", false, false, rmq.Publishing{Headers: rmq.Table{"CC": []any{"b"}}, Body: []byte("m")})
	if _, ok, _ := ch.Get("b", true); !ok {
		t.Error("CC copy missing")
	}
}

func TestConsumerTimeout(t *testing.T) {
	ts := startServer(t, amqp.Config{ConsumerTimeout: 100 * time.Millisecond})
	_, ch := ts.channel(t)
	closed := ch.NotifyClose(make(chan *rmq.Error, 1))
	ch.QueueDeclare("q", false, false, false, false, nil)
	ds, _ := ch.Consume("q", "", false, false, false, false, nil)
	ch.Publish("", "q", false, false, rmq.Publishing{Body: []byte("m")})
	recv(t, ds)
	e := closeErr(t, closed)
	want := "PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out. Timeout value used: 100 ms. " +
		"This timeout value can be configured, see consumers doc guide to learn more"
	if e.Code != 406 || e.Reason != want {
		t.Fatalf("got %d %q", e.Code, e.Reason)
	}
	waitFor(t, func() bool { r, u := ts.depth(t, "q"); return r == 1 && u == 0 })
}

func TestShutdownClosesConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := amqp.NewServer(amqp.NewCoreBroker(newCore(t)), amqp.Config{})
	go s.Serve(ln)
	c, err := rmq.Dial("amqp://guest:guest@" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	closed := c.NotifyClose(make(chan *rmq.Error, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wantErr(t, closeErr(t, closed), 320, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'")
}

// TestManyMessages pushes a few thousand messages through confirms, a
// prefetch window and acks, to catch stalls.
func TestManyMessages(t *testing.T) {
	ts := startServer(t, amqp.Config{})
	_, pub := ts.channel(t)
	_, sub := ts.channel(t)
	pub.QueueDeclare("m", false, false, false, false, nil)
	sub.Qos(50, 0, false)
	ds, _ := sub.Consume("m", "", false, false, false, false, nil)
	pub.Confirm(false)
	confirms := pub.NotifyPublish(make(chan rmq.Confirmation, 5000))
	const n = 5000
	go func() {
		for range n {
			pub.Publish("", "m", false, false, rmq.Publishing{Body: make([]byte, 1000)})
		}
	}()
	for i := range n {
		d := recv(t, ds)
		if i%10 == 9 {
			d.Ack(true)
		}
	}
	var last uint64
	for last < n {
		select {
		case c := <-confirms:
			if !c.Ack {
				t.Fatalf("nack %d", c.DeliveryTag)
			}
			last = c.DeliveryTag
		case <-time.After(5 * time.Second):
			t.Fatalf("confirms stalled at %d", last)
		}
	}
}
