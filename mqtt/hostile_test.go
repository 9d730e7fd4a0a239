package mqtt_test

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/httplimit"
	"github.com/junctionmq/junction/internal/leakcheck"
	"github.com/junctionmq/junction/mqtt"
)

// connect311 is a raw MQTT 3.1.1 CONNECT as guest with client id "h3".
var connect311 = []byte{0x10, 28, 0, 4, 'M', 'Q', 'T', 'T', 4, 0xC2, 0, 60,
	0, 2, 'h', '3', 0, 5, 'g', 'u', 'e', 's', 't', 0, 5, 'g', 'u', 'e', 's', 't'}

// mqttBystander publishes QoS 1 to a topic it subscribes to, in a loop,
// while hostile clients work on the same server.
type mqttBystander struct {
	sent, got atomic.Int64
	err       atomic.Value
	stop      chan struct{}
	done      chan struct{}
}

func startMQTTBystander(t *testing.T, addr string) *mqttBystander {
	t.Helper()
	by := &mqttBystander{stop: make(chan struct{}), done: make(chan struct{})}
	c, err := dial3(t, addr, "bystander", "guest", "guest", true, nil)
	require.NoError(t, err)
	wait(t, c.Subscribe("by/t", 1, func(paho3.Client, paho3.Message) { by.got.Add(1) }))
	go func() {
		defer close(by.done)
		defer c.Disconnect(0)
		for {
			select {
			case <-by.stop:
				return
			default:
			}
			tok := c.Publish("by/t", 1, false, "hi")
			if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				by.err.CompareAndSwap(nil, errors.Join(errors.New("publish"), tok.Error()))
				return
			}
			by.sent.Add(1)
		}
	}()
	return by
}

func (by *mqttBystander) check(t *testing.T) {
	t.Helper()
	start := by.got.Load()
	require.Eventually(t, func() bool { return by.got.Load() >= start+3 || by.err.Load() != nil },
		30*time.Second, 10*time.Millisecond)
	close(by.stop)
	<-by.done
	if err, _ := by.err.Load().(error); err != nil {
		t.Fatalf("the well-behaved client failed: %v", err)
	}
	t.Logf("well-behaved client: %d published, %d received", by.sent.Load(), by.got.Load())
}

// hangUp reads what the server sends until it ends the connection.
func hangUp(t *testing.T, nc net.Conn) []byte {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(nc)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("want the server to end the connection, got %v", err)
	}
	return got
}

// connected dials and sends CONNECT, requiring a successful CONNACK.
func connected(t *testing.T, addr string, connect []byte) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	_, err = nc.Write(connect)
	require.NoError(t, err)
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	hdr := make([]byte, 2)
	_, err = io.ReadFull(nc, hdr)
	require.NoError(t, err)
	require.EqualValues(t, 0x20, hdr[0], "CONNACK")
	ack := make([]byte, hdr[1])
	_, err = io.ReadFull(nc, ack)
	require.NoError(t, err)
	require.EqualValues(t, 0, ack[1], "CONNACK reason")
	return nc
}

// wantDisconnect requires the server's last words to be an MQTT 5
// DISCONNECT with a reason code of 0x80 or above, then the close.
func wantDisconnect(t *testing.T, nc net.Conn) {
	t.Helper()
	got := hangUp(t, nc)
	i := strings.LastIndexByte(string(got), 0xE0)
	require.True(t, i >= 0 && i+2 < len(got), "want DISCONNECT, got % x", got)
	assert.GreaterOrEqual(t, got[i+2], byte(0x80), "DISCONNECT reason % x", got[i:])
	t.Logf("DISCONNECT reason 0x%x", got[i+2])
}

// wantMalformedClose requires the close a malformed packet earns
// [MQTT-4.13.1-1]; a DISCONNECT before it (which MQTT 5 allows but mochi
// does not send for these) must carry an error reason.
func wantMalformedClose(t *testing.T, nc net.Conn) {
	t.Helper()
	got := hangUp(t, nc)
	if len(got) >= 3 && got[0] == 0xE0 {
		assert.GreaterOrEqual(t, got[2], byte(0x80), "DISCONNECT reason % x", got)
	} else {
		assert.Empty(t, got)
	}
}

// TestHostileClients throws malformed, oversized and slow input at one
// server: each gets MQTT's answer (a DISCONNECT with a reason code for
// MQTT 5, then the close; the close alone for 3.1.1), a well-behaved
// client keeps publishing and receiving throughout, and nothing is left
// behind.
func TestHostileClients(t *testing.T) {
	tb := startBroker(t, mqtt.Config{MaxPacketSize: 64 << 10, ConnectTimeout: 300 * time.Millisecond,
		HTTP: httplimit.Limits{MaxHeaderBytes: 4 << 10, ReadTimeout: 300 * time.Millisecond}})
	wsLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = tb.srv.ServeWebSocket(wsLn) }()
	by := startMQTTBystander(t, tb.addr)
	require.Eventually(t, func() bool { return by.got.Load() > 0 }, 30*time.Second, 10*time.Millisecond)
	base := leakcheck.Take()

	raw := func(t *testing.T, b []byte) net.Conn {
		nc, err := net.Dial("tcp", tb.addr)
		require.NoError(t, err)
		t.Cleanup(func() { nc.Close() })
		_, err = nc.Write(b)
		require.NoError(t, err)
		return nc
	}
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"CONNECT not first", func(t *testing.T) {
			hangUp(t, raw(t, []byte{0xC0, 0})) // PINGREQ [MQTT-3.1.0-1]
		}},
		{"malformed remaining length", func(t *testing.T) {
			hangUp(t, raw(t, []byte{0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F})) // [MQTT-1.5.5]
		}},
		{"oversized packet", func(t *testing.T) {
			nc := connected(t, tb.addr, connect5)
			nc.Write([]byte{0x30, 0x80, 0x80, 0x40, 0, 1, 'x', 0}) // 1 MiB PUBLISH
			require.Equal(t, []byte{0xE0, 2, 0x95, 0}, hangUp(t, nc))
		}},
		{"invalid UTF-8 topic", func(t *testing.T) {
			nc := connected(t, tb.addr, connect5)
			nc.Write([]byte{0x30, 5, 0, 2, 0xFF, 0xFE, 0}) // [MQTT-1.5.4-1]
			wantMalformedClose(t, nc)
		}},
		{"invalid UTF-8 topic, 3.1.1", func(t *testing.T) {
			nc := connected(t, tb.addr, connect311)
			nc.Write([]byte{0x30, 4, 0, 2, 0xFF, 0xFE})
			assert.Empty(t, hangUp(t, nc))
		}},
		{"QoS 3", func(t *testing.T) {
			nc := connected(t, tb.addr, connect5)
			nc.Write([]byte{0x36, 6, 0, 1, 'x', 0, 1, 0}) // [MQTT-3.3.1-4]
			wantMalformedClose(t, nc)
		}},
		{"second CONNECT", func(t *testing.T) {
			nc := connected(t, tb.addr, connect5)
			nc.Write(connect5) // [MQTT-3.1.0-2]
			wantDisconnect(t, nc)
		}},
		{"slowloris CONNECT", func(t *testing.T) {
			// CONNECT one byte at a time, never finished: the connect
			// timeout ends it although bytes keep coming.
			nc, err := net.Dial("tcp", tb.addr)
			require.NoError(t, err)
			defer nc.Close()
			go func() {
				for _, b := range connect311[:len(connect311)-1] {
					if _, err := nc.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()
			hangUp(t, nc)
		}},
		{"200 silent connections", func(t *testing.T) {
			crowd := make([]net.Conn, 200)
			for i := range crowd {
				nc, err := net.Dial("tcp", tb.addr)
				require.NoError(t, err)
				defer nc.Close()
				crowd[i] = nc
			}
			for _, nc := range crowd {
				hangUp(t, nc)
			}
		}},
		{"connection that never sends", func(t *testing.T) {
			nc, err := net.Dial("tcp", tb.addr)
			require.NoError(t, err)
			defer nc.Close()
			hangUp(t, nc)
		}},
		{"WebSocket oversized headers", func(t *testing.T) {
			nc, err := net.Dial("tcp", wsLn.Addr().String())
			require.NoError(t, err)
			defer nc.Close()
			go nc.Write([]byte("GET /ws HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 16<<10) + "\r\n\r\n"))
			got := string(hangUp(t, nc))
			assert.True(t, strings.HasPrefix(got, "HTTP/1.1 431 "), "got %q", got)
		}},
		{"WebSocket upgraded, then no CONNECT", func(t *testing.T) {
			d := websocket.Dialer{Subprotocols: []string{"mqtt"}, HandshakeTimeout: 30 * time.Second}
			wc, _, err := d.Dial("ws://"+wsLn.Addr().String()+"/ws", nil)
			require.NoError(t, err)
			defer wc.Close()
			wc.SetReadDeadline(time.Now().Add(30 * time.Second))
			_, _, err = wc.ReadMessage()
			var ne net.Error
			require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server did not close: %v", err)
			require.Error(t, err)
		}},
		{"WebSocket slowloris upgrade", func(t *testing.T) {
			nc, err := net.Dial("tcp", wsLn.Addr().String())
			require.NoError(t, err)
			defer nc.Close()
			go func() {
				nc.Write([]byte("GET /ws HTTP/1.1\r\nHost: x\r\n"))
				for {
					if _, err := nc.Write([]byte("X")); err != nil {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()
			hangUp(t, nc)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
	by.check(t)
	base.Settle(t, 4, 4<<20)
}
