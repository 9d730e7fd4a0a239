package amqp_test

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/internal/leakcheck"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// bystander is a well-behaved client that publishes with confirms and
// consumes its own messages in a loop while hostile clients do their
// worst on the same server.
type bystander struct {
	rounds atomic.Int64
	err    atomic.Value // the first error
	stop   chan struct{}
	done   chan struct{}
}

func startBystander(t *testing.T, url string) *bystander {
	t.Helper()
	c, err := rmq.Dial(url)
	require.NoError(t, err)
	ch, err := c.Channel()
	require.NoError(t, err)
	require.NoError(t, ch.Confirm(false))
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	require.NoError(t, err)
	ds, err := ch.Consume(q.Name, "", true, false, false, false, nil)
	require.NoError(t, err)
	by := &bystander{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(by.done)
		defer c.Close()
		for {
			select {
			case <-by.stop:
				return
			default:
			}
			if err := by.round(ch, q.Name, ds); err != nil {
				by.err.CompareAndSwap(nil, err)
				return
			}
		}
	}()
	return by
}

// round publishes one message, waits for its confirm and its delivery.
func (by *bystander) round(ch *rmq.Channel, q string, ds <-chan rmq.Delivery) error {
	conf, err := ch.PublishWithDeferredConfirm("", q, false, false, rmq.Publishing{Body: []byte("hi")})
	if err != nil {
		return err
	}
	if ok := conf.Wait(); !ok {
		return errors.New("publish nacked")
	}
	select {
	case _, ok := <-ds:
		if !ok {
			return errors.New("consumer closed")
		}
	case <-time.After(30 * time.Second):
		return errors.New("no delivery in 30 s")
	}
	by.rounds.Add(1)
	return nil
}

// check stops the bystander and requires that it kept working throughout.
func (by *bystander) check(t *testing.T) {
	t.Helper()
	start := by.rounds.Load()
	// It still works after the hostile clients: a few more rounds.
	require.Eventually(t, func() bool {
		return by.rounds.Load() >= start+3 || by.err.Load() != nil
	}, 30*time.Second, 10*time.Millisecond)
	close(by.stop)
	<-by.done
	if err, _ := by.err.Load().(error); err != nil {
		t.Fatalf("the well-behaved client failed: %v", err)
	}
	t.Logf("well-behaved client: %d round trips", by.rounds.Load())
}

// wantEnd reads until the server ends the connection.
func (rc *rawClient) wantEnd() {
	rc.t.Helper()
	rc.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := io.Copy(io.Discard, rc.nc)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		rc.t.Fatalf("want the server to end the connection, got %v", err)
	}
}

// methodFrame is a method frame with the given payload (class, method,
// fields), as a hostile client writes it.
func methodFrame(ch uint16, payload []byte) []byte {
	b := []byte{amqp091.FrameMethod, byte(ch >> 8), byte(ch), 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[3:], uint32(len(payload)))
	return append(append(b, payload...), amqp091.FrameEnd)
}

// nestedTable is a field table holding a table holding a table... depth
// levels deep.
func nestedTable(depth int) message.Table {
	t := message.Table{{Key: "x", Value: int32(1)}}
	for range depth {
		t = message.Table{{Key: "t", Value: t}}
	}
	return t
}

// TestHostileClients throws malformed and abusive input at one server and
// checks that each gets RabbitMQ's answer, that a well-behaved client on
// the same server keeps working, and that nothing is left behind.
func TestHostileClients(t *testing.T) {
	ts := startServer(t, amqp.Config{HandshakeTimeout: 300 * time.Millisecond, Heartbeat: -1})
	by := startBystander(t, ts.url)
	require.Eventually(t, func() bool { return by.rounds.Load() > 0 }, 30*time.Second, 10*time.Millisecond)
	base := leakcheck.Take()

	cases := []struct {
		name string
		run  func(t *testing.T, rc *rawClient)
	}{
		{"wrong protocol header", func(t *testing.T, rc *rawClient) {
			// AMQP 0-9-1 4.2.2: the server answers with its own header
			// and closes.
			rc.write([]byte("AMQP\x01\x01\x00\x0a"))
			rc.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
			got, _ := io.ReadAll(rc.nc)
			assert.Equal(t, amqp091.ProtocolHeader, string(got))
		}},
		{"HTTP instead of AMQP", func(t *testing.T, rc *rawClient) {
			rc.write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			rc.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
			got, _ := io.ReadAll(rc.nc)
			assert.Equal(t, amqp091.ProtocolHeader, string(got))
		}},
		{"slowloris header", func(t *testing.T, rc *rawClient) {
			// One byte of the header at a time, never the last one: the
			// handshake timeout ends it although bytes keep coming.
			go func() {
				for _, b := range []byte(amqp091.ProtocolHeader[:7]) {
					if _, err := rc.nc.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
			rc.wantEnd()
		}},
		{"200 silent connections", func(t *testing.T, rc *rawClient) {
			// A crowd that connects and sends nothing: every one is
			// closed at the handshake timeout.
			crowd := []net.Conn{rc.nc}
			for range 199 {
				nc, err := net.Dial("tcp", ts.addr)
				require.NoError(t, err)
				defer nc.Close()
				crowd = append(crowd, nc)
			}
			for _, nc := range crowd {
				(&rawClient{t: t, nc: nc}).wantEnd()
			}
		}},
		{"handshake never finished", func(t *testing.T, rc *rawClient) {
			rc.write([]byte(amqp091.ProtocolHeader))
			rc.method() // start
			rc.send(0, plainStartOk(nil))
			rc.method() // tune: then silence
			rc.wantEnd()
		}},
		{"truncated frame then EOF", func(t *testing.T, rc *rawClient) {
			rc.handshake(defaultTuneOk)
			var w amqp091.Writer
			w.WriteMethod(1, &amqp091.ChannelOpen{})
			rc.write(w.Buf[:len(w.Buf)-3])
			rc.nc.(*net.TCPConn).CloseWrite()
			rc.wantEnd()
		}},
		{"frame larger than frame_max", func(t *testing.T, rc *rawClient) {
			// Only the header of a 4 GiB frame: the server must refuse it
			// without waiting for (or allocating) the payload.
			rc.handshake(defaultTuneOk)
			rc.write([]byte{amqp091.FrameMethod, 0, 1, 0xff, 0xff, 0xff, 0xff})
			rc.wantCloseCode(amqp091.FrameError)
		}},
		{"unknown class", func(t *testing.T, rc *rawClient) {
			rc.handshake(defaultTuneOk)
			rc.send(1, &amqp091.ChannelOpen{})
			rc.method()
			rc.write(methodFrame(1, []byte{0, 99, 0, 10}))
			rc.wantCloseCode(amqp091.NotImplemented)
		}},
		{"unknown method", func(t *testing.T, rc *rawClient) {
			rc.handshake(defaultTuneOk)
			rc.send(1, &amqp091.ChannelOpen{})
			rc.method()
			rc.write(methodFrame(1, []byte{0, 50, 0, 99}))
			rc.wantCloseCode(amqp091.NotImplemented)
		}},
		{"unknown frame type", func(t *testing.T, rc *rawClient) {
			rc.handshake(defaultTuneOk)
			rc.write([]byte{9, 0, 0, 0, 0, 0, 0, amqp091.FrameEnd})
			rc.wantCloseCode(amqp091.FrameError)
		}},
		{"content body without a header", func(t *testing.T, rc *rawClient) {
			rc.handshake(defaultTuneOk)
			rc.send(1, &amqp091.ChannelOpen{})
			rc.method()
			rc.send(1, &amqp091.BasicPublish{RoutingKey: "k"})
			rc.w.Reset()
			rc.w.WriteBody(1, []byte("body"))
			rc.write(rc.w.Buf)
			rc.wantClose("connection.close", amqp091.UnexpectedFrame,
				"UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead")
		}},
		{"method in the middle of a content body", func(t *testing.T, rc *rawClient) {
			rc.handshake(defaultTuneOk)
			rc.send(1, &amqp091.ChannelOpen{})
			rc.method()
			rc.send(1, &amqp091.BasicPublish{RoutingKey: "k"})
			rc.w.Reset()
			rc.w.WriteHeader(1, 10, &message.Properties{})
			rc.write(rc.w.Buf)
			rc.send(1, &amqp091.QueueDeclare{Queue: "q"})
			rc.wantClose("connection.close", amqp091.UnexpectedFrame,
				"UNEXPECTED_FRAME - expected content body, got non content body frame instead")
		}},
		{"invalid UTF-8 queue name", func(t *testing.T, rc *rawClient) {
			rc.handshake(defaultTuneOk)
			rc.send(1, &amqp091.ChannelOpen{})
			rc.method()
			rc.send(1, &amqp091.QueueDeclare{Queue: "bad\xff\xfename"})
			rc.wantCloseCode(amqp091.CommandInvalid)
		}},
		{"deeply nested field table", func(t *testing.T, rc *rawClient) {
			rc.handshake(defaultTuneOk)
			rc.send(1, &amqp091.ChannelOpen{})
			rc.method()
			rc.send(1, &amqp091.QueueDeclare{Queue: "deep", Arguments: nestedTable(5000)})
			rc.wantCloseCode(amqp091.SyntaxError)
		}},
		{"every channel, then one more", func(t *testing.T, rc *rawClient) {
			// A client opening channels without end gets channel_max of
			// them and a 530 for the next: memory stays bounded.
			rc.handshake(defaultTuneOk)
			var w amqp091.Writer
			for id := uint16(1); id <= defaultTuneOk.ChannelMax; id++ {
				w.WriteMethod(id, &amqp091.ChannelOpen{})
			}
			go rc.nc.Write(w.Buf)
			for range defaultTuneOk.ChannelMax {
				_, m := rc.method()
				require.Equal(t, "channel.open-ok", m.Name())
			}
			rc.send(defaultTuneOk.ChannelMax+1, &amqp091.ChannelOpen{})
			rc.wantClose("connection.close", amqp091.NotAllowed,
				"NOT_ALLOWED - number of channels opened (2047) has reached the negotiated channel_max (2047)")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, ts.addr)
			tc.run(t, rc)
			rc.nc.Close()
		})
	}
	by.check(t)
	// The bystander's own connection is gone too now: allow for nothing
	// but the runtime's jitter.
	base.Settle(t, 2, 4<<20)
}

// wantCloseCode reads until connection.close, requires its code, and
// answers close-ok; the server then ends the connection.
func (rc *rawClient) wantCloseCode(code uint16) {
	rc.t.Helper()
	for {
		_, m := rc.method()
		cc, ok := m.(*amqp091.ConnectionClose)
		if !ok {
			continue
		}
		if cc.ReplyCode != code || !strings.HasPrefix(cc.ReplyText, amqp091.CodeName(code)+" - ") {
			rc.t.Fatalf("got connection.close %d %q, want %d", cc.ReplyCode, cc.ReplyText, code)
		}
		rc.t.Logf("connection.close %d %q", cc.ReplyCode, cc.ReplyText)
		rc.send(0, &amqp091.ConnectionCloseOk{})
		rc.wantEnd()
		return
	}
}

// TestConnectionLimits checks connection_max and the per-user limit:
// connection.open past them gets RabbitMQ's 530, and a closed connection
// frees its place.
func TestConnectionLimits(t *testing.T) {
	cases := []struct {
		name string
		cfg  amqp.Config
		text string
	}{
		{"total", amqp.Config{ConnectionMax: 2},
			"NOT_ALLOWED - connection refused: node connection limit (2) is reached"},
		{"per user", amqp.Config{ConnectionMaxPerUser: 2},
			"NOT_ALLOWED - connection refused for user 'guest': user connection limit (2) is reached"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.cfg)
			a := ts.dial(t)
			ts.dial(t)
			_, err := rmq.Dial(ts.url)
			wantErr(t, err, 530, tc.text)
			require.NoError(t, a.Close())
			// The place is free again (the server counts down when the
			// connection's reader has finished).
			require.Eventually(t, func() bool {
				c, err := rmq.Dial(ts.url)
				if err == nil {
					c.Close()
				}
				return err == nil
			}, 30*time.Second, 20*time.Millisecond)
		})
	}
}

// TestConsumerMaxPerChannel checks consumer_max_per_channel: the consumer
// past it gets connection.close 530, as from RabbitMQ, and a cancelled
// consumer frees its place.
func TestConsumerMaxPerChannel(t *testing.T) {
	ts := startServer(t, amqp.Config{ConsumerMaxPerChannel: 2})
	c, ch := ts.channel(t)
	_, err := ch.QueueDeclare("cm", false, false, false, false, nil)
	require.NoError(t, err)
	_, err = ch.Consume("cm", "a", false, false, false, false, nil)
	require.NoError(t, err)
	_, err = ch.Consume("cm", "b", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.Cancel("a", false))
	_, err = ch.Consume("amq.rabbitmq.reply-to", "r", true, false, false, false, nil)
	require.NoError(t, err, "a cancelled consumer frees its place")
	_, err = ch.Consume("cm", "c", false, false, false, false, nil)
	require.NoError(t, err, "direct reply-to is not counted")
	closed := c.NotifyClose(make(chan *rmq.Error, 1))
	_, err = ch.Consume("cm", "d", false, false, false, false, nil)
	if err == nil {
		err = closeErr(t, closed)
	}
	wantErr(t, err, 530, "NOT_ALLOWED - reached maximum (2) of consumers per channel")
}

// TestChannelsAcrossConnections opens many connections with many channels
// each and closes them: what they held comes back.
func TestChannelsAcrossConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("opens thousands of channels")
	}
	ts := startServer(t, amqp.Config{Heartbeat: -1})
	base := leakcheck.Take()
	var w amqp091.Writer
	for id := uint16(1); id <= 1000; id++ {
		w.WriteMethod(id, &amqp091.ChannelOpen{})
	}
	conns := make([]*rawClient, 10)
	for i := range conns {
		rc := dialRaw(t, ts.addr)
		rc.handshake(defaultTuneOk)
		go rc.nc.Write(w.Buf)
		for range 1000 {
			rc.method()
		}
		conns[i] = rc
	}
	open := leakcheck.Take()
	t.Logf("10 connections × 1,000 open channels: %d bytes of heap per channel (%v)",
		(int64(open.Heap)-int64(base.Heap))/10000, open)
	for _, rc := range conns {
		rc.send(0, &amqp091.ConnectionClose{ReplyCode: 200})
		rc.wantEnd()
	}
	base.Settle(t, 2, 4<<20)
}
