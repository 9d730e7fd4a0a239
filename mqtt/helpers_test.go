package mqtt_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/route"
	"github.com/junctionmq/junction/mqtt"
	"github.com/junctionmq/junction/persist"
)

// testBroker is a core broker on a real store with the MQTT face on
// 127.0.0.1:0. restart keeps the data directory.
type testBroker struct {
	t    testing.TB
	dir  string
	cfg  mqtt.Config
	st   *persist.DB
	b    *core.Broker
	srv  *mqtt.Server
	addr string
	done chan error
}

func startBroker(t testing.TB, cfg mqtt.Config) *testBroker {
	t.Helper()
	tb := &testBroker{t: t, dir: t.TempDir(), cfg: cfg}
	tb.open()
	t.Cleanup(tb.close)
	return tb
}

func (tb *testBroker) open() {
	t := tb.t
	t.Helper()
	st, err := persist.Open(tb.dir, persist.Options{GCInterval: -1})
	require.NoError(t, err)
	b, err := core.Open(core.Config{Store: st, Auth: auth.Options{KeyFile: filepath.Join(tb.dir, "auth.key")}})
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := mqtt.New(b, tb.cfg, log)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tb.st, tb.b, tb.srv, tb.addr = st, b, srv, ln.Addr().String()
	tb.done = make(chan error, 1)
	go func() { tb.done <- srv.Serve(ln) }()
}

func (tb *testBroker) close() {
	if tb.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(tb.t, tb.srv.Shutdown(ctx))
	require.ErrorIs(tb.t, <-tb.done, mqtt.ErrServerClosed)
	require.NoError(tb.t, tb.b.Close())
	require.NoError(tb.t, tb.st.Close())
	tb.srv = nil
}

func (tb *testBroker) restart() {
	tb.close()
	tb.open()
}

func (tb *testBroker) vhost() *core.Vhost {
	v, err := tb.b.Vhost("/")
	require.NoError(tb.t, err)
	return v
}

// coreQueue declares a queue bound to amq.topic with key, as an AMQP client
// would.
func (tb *testBroker) coreQueue(name, key string) *queue.Queue {
	v := tb.vhost()
	q, _, err := v.DeclareQueue(core.QueueDecl{Name: name, Durable: true})
	require.NoError(tb.t, err)
	require.NoError(tb.t, v.Bind(route.Binding{Source: "amq.topic",
		Dest: route.Dest{Kind: route.DestQueue, Name: name}, Key: key}))
	return q
}

// get polls q until a message is ready.
func get(t testing.TB, q *queue.Queue) *message.Message {
	t.Helper()
	var m *message.Message
	eventually(t, func() bool {
		d, ok := q.Get(true)
		m = d.Msg
		return ok
	})
	return m
}

// eventually polls cond until it holds (or fails after 10 s).
func eventually(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dial3 connects an MQTT 3.1.1 client.
func dial3(t testing.TB, addr, id, user, pass string, clean bool, onMsg paho3.MessageHandler) (paho3.Client, error) {
	t.Helper()
	o := paho3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetUsername(user).SetPassword(pass).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectRetry(false).SetProtocolVersion(4).
		SetDefaultPublishHandler(onMsg).SetConnectTimeout(5 * time.Second)
	c := paho3.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("connect timeout")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c, nil
}

func wait(t testing.TB, tok paho3.Token) {
	t.Helper()
	require.True(t, tok.WaitTimeout(10*time.Second), "token timeout")
	require.NoError(t, tok.Error())
}

// inbox collects messages received by a client.
type inbox struct {
	mu   sync.Mutex
	msgs []*paho5.Publish
	m3   []paho3.Message
}

func (in *inbox) on5(pr paho5.PublishReceived) (bool, error) {
	in.mu.Lock()
	in.msgs = append(in.msgs, pr.Packet)
	in.mu.Unlock()
	return true, nil
}

func (in *inbox) on3(_ paho3.Client, m paho3.Message) {
	in.mu.Lock()
	in.m3 = append(in.m3, m)
	in.mu.Unlock()
}

func (in *inbox) len() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.msgs) + len(in.m3)
}

func (in *inbox) wait5(t testing.TB, n int) []*paho5.Publish {
	t.Helper()
	eventually(t, func() bool { return in.len() >= n })
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]*paho5.Publish(nil), in.msgs...)
}

func (in *inbox) wait3(t testing.TB, n int) []paho3.Message {
	t.Helper()
	eventually(t, func() bool { return in.len() >= n })
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]paho3.Message(nil), in.m3...)
}

// dial5 connects an MQTT 5 client; the CONNACK is returned with any error.
func dial5(t testing.TB, addr string, cp *paho5.Connect, in *inbox) (*paho5.Client, *paho5.Connack, error) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	cfg := paho5.ClientConfig{ClientID: cp.ClientID, Conn: nc}
	if in != nil {
		cfg.OnPublishReceived = []func(paho5.PublishReceived) (bool, error){in.on5}
	}
	c := paho5.NewClient(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if cp.KeepAlive == 0 {
		cp.KeepAlive = 30
	}
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		nc.Close()
		return nil, ca, err
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho5.Disconnect{}) })
	return c, ca, nil
}

func guest5(id string) *paho5.Connect {
	return &paho5.Connect{ClientID: id, CleanStart: true, Username: "guest", UsernameFlag: true,
		Password: []byte("guest"), PasswordFlag: true}
}

func ctx10(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
