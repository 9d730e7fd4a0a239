package conformance_test

// Security, one place per face (issue 9): for AMQP, MQTT 3.1.1 and 5.0,
// the AWS gateway (SQS, SNS, Kinesis) and the management API, a wrong
// password, an unknown user, a user without permission on the vhost, a
// user with configure but not write permission, a topic permission
// denial and guest from a non-loopback address are each refused with the
// face's own error; a refused client gets nothing (no message, no queue
// name); no password reaches the log; definitions carry only hashes; no
// API returns an access-key secret.
//
// Unlike the rest of this package, these tests run the four faces
// in-process over one core, wired as cmd/junction wires them, with real
// clients over real loopback sockets: they need users, vhosts and AWS
// access keys for users other than guest (the binary has no API for
// access keys) and the broker's debug log. The non-loopback case is
// tested at the listener: each face also serves a listener whose
// connections report a TEST-NET address (192.0.2.7) as their peer, so the
// real remote-address check of each face decides, and nothing goes through
// the machine's own external address. TLS on every listener is tested
// against the built binary in tls_test.go.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscfg "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	paho5 "github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/awsgw"
	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/mgmt"
	"github.com/junctionmq/junction/mqtt"
	"github.com/junctionmq/junction/persist"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// Secrets of the fixture: none of them may appear in the log or in any
// management response.
const (
	secAlicePass   = "alice-Pa55-3c1f"
	secNobodyPass  = "nobody-Pa55-77aa"
	secCfgPass     = "cfgonly-Pa55-9d02"
	secRootPass    = "root-Pa55-e410"
	secWrongPass   = "wrong-Pa55-0b6e"
	secAliceSecret = "alice-AWS-secret-51c9"
	secNobodySec   = "nobody-AWS-secret-2f80"
	secCfgSecret   = "cfgonly-AWS-secret-c3d7"
	secRootSecret  = "root-AWS-secret-8a6b"

	secVhost   = "secret"       // only root has permissions here
	secAccount = "111111111111" // the AWS account of secVhost
	secHidden  = "hidden-3f1e"  // queue (AMQP and SQS) names in secVhost
	secBody    = "hidden-body-90d4"
)

// secAddrs are one face's listeners: from loopback, and from "outside".
type secAddrs struct{ local, remote string }

// secEnv is every face over one core broker, with the fixture's users.
type secEnv struct {
	b    *core.Broker
	log  *syncBuffer
	amqp secAddrs
	mqtt secAddrs
	aws  secAddrs
	mgmt secAddrs
}

// syncBuffer is the broker's log: a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// remoteListener hands out connections that report addr as their peer:
// the face's own loopback check sees a client from another machine.
type remoteListener struct {
	net.Listener
	addr net.Addr
}

func (l remoteListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return remoteConn{Conn: c, remote: l.addr}, nil
}

type remoteConn struct {
	net.Conn
	remote net.Addr
}

func (c remoteConn) RemoteAddr() net.Addr { return c.remote }

// startSecEnv starts the faces, logging at debug level into env.log, and
// creates the fixture: users root (administrator, everything everywhere,
// with an AWS key), alice (management, all of "/", topics under
// "allowed." only), cfgonly (configure and read on "/", no write),
// nobody (management, no permissions at all) and guest (loopback only);
// vhost secVhost mapped to account secAccount with an AMQP queue and an
// SQS queue secHidden holding secBody each.
func startSecEnv(t *testing.T) *secEnv {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	env := &secEnv{log: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(env.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prev := slog.Default()
	slog.SetDefault(log)
	t.Cleanup(func() { slog.SetDefault(prev) })

	dir := t.TempDir()
	st, err := persist.Open(dir, persist.Options{InMemory: true, GCInterval: -1, Logger: log})
	require.NoError(t, err)
	b, err := core.Open(core.Config{Store: st, Logger: log, Auth: auth.Options{
		KeyFile: filepath.Join(dir, "auth.key"), LoopbackUsers: []string{"guest"}}})
	require.NoError(t, err)
	env.b = b
	amqpSrv := amqp.NewServer(amqp.NewCoreBroker(b), amqp.Config{Logger: log})
	mqttSrv, err := mqtt.New(b, mqtt.Config{}, log)
	require.NoError(t, err)
	awsSrv, err := awsgw.New(b, awsgw.Config{}, log)
	require.NoError(t, err)
	mgmtSrv := mgmt.New(b, amqpSrv, log)

	var wg sync.WaitGroup
	serve := func(f func(net.Listener) error) secAddrs {
		var a secAddrs
		for i, p := range []*string{&a.local, &a.remote} {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			*p = ln.Addr().String()
			if i == 1 {
				ln = remoteListener{ln, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 40000}}
			}
			wg.Add(1)
			go func() { defer wg.Done(); _ = f(ln) }()
		}
		return a
	}
	env.amqp = serve(amqpSrv.Serve)
	env.mqtt = serve(mqttSrv.Serve)
	env.aws = serve(awsSrv.Serve)
	env.mgmt = serve(mgmtSrv.Serve)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, mgmtSrv.Shutdown(ctx))
		assert.NoError(t, awsSrv.Shutdown(ctx))
		assert.NoError(t, mqttSrv.Shutdown(ctx))
		assert.NoError(t, amqpSrv.Close(ctx))
		wg.Wait()
		assert.NoError(t, b.Close())
		assert.NoError(t, st.Close())
	})
	env.fixture(t)
	return env
}

func (env *secEnv) fixture(t *testing.T) {
	t.Helper()
	u := env.b.Users()
	_, err := env.b.AddVhost(secVhost)
	require.NoError(t, err)
	require.NoError(t, u.MapAccount(secAccount, "us-east-1", secVhost))
	for _, x := range []struct{ name, pass, key, secret, tag string }{
		{"root", secRootPass, "AKIAROOT", secRootSecret, auth.TagAdministrator},
		{"alice", secAlicePass, "AKIAALICE", secAliceSecret, auth.TagManagement},
		{"cfgonly", secCfgPass, "AKIACFGONLY", secCfgSecret, auth.TagManagement},
		{"nobody", secNobodyPass, "AKIANOBODY", secNobodySec, auth.TagManagement},
	} {
		require.NoError(t, u.AddUser(x.name, x.pass, []string{x.tag}))
		require.NoError(t, u.AddAccessKey(x.name, x.key, x.secret))
	}
	for _, vh := range []string{"/", secVhost} {
		require.NoError(t, u.SetPermissions("root", vh, ".*", ".*", ".*"))
	}
	require.NoError(t, u.SetPermissions("alice", "/", ".*", ".*", ".*"))
	require.NoError(t, u.SetTopicPermissions("alice", "/", "amq.topic", `^allowed\.`, `^allowed\.`))
	require.NoError(t, u.SetPermissions("cfgonly", "/", ".*", "", ".*"))

	// The hidden AMQP queue and its message, in secVhost.
	c, err := rmq.Dial("amqp://root:" + secRootPass + "@" + env.amqp.local + "/" + secVhost)
	require.NoError(t, err)
	defer c.Close()
	ch, err := c.Channel()
	require.NoError(t, err)
	_, err = ch.QueueDeclare(secHidden, true, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.Confirm(false))
	dc, err := ch.PublishWithDeferredConfirm("", secHidden, false, false, rmq.Publishing{Body: []byte(secBody)})
	require.NoError(t, err)
	ok, err := dc.WaitContext(secCtx(t))
	require.NoError(t, err)
	require.True(t, ok)

	// The hidden SQS queue and its message, created by keeper, whose only
	// vhost is secVhost: requests that name no account use its account.
	require.NoError(t, u.AddUser("keeper", secRootPass, nil))
	require.NoError(t, u.AddAccessKey("keeper", "AKIAKEEPER", secRootSecret))
	require.NoError(t, u.SetPermissions("keeper", secVhost, ".*", ".*", ".*"))
	keeper := env.sqsClient(t, env.aws.local, "AKIAKEEPER", secRootSecret)
	out, err := keeper.CreateQueue(secCtx(t), &sqs.CreateQueueInput{QueueName: aws.String(secHidden + "-sqs")})
	require.NoError(t, err)
	require.Contains(t, aws.ToString(out.QueueUrl), "/"+secAccount+"/")
	_, err = keeper.SendMessage(secCtx(t), &sqs.SendMessageInput{QueueUrl: out.QueueUrl, MessageBody: aws.String(secBody)})
	require.NoError(t, err)
}

func secCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// assertLogClean checks that no password or secret of the fixture, nor
// the wrong password the tests tried, reached the broker's log.
func (env *secEnv) assertLogClean(t *testing.T) {
	t.Helper()
	log := env.log.String()
	require.NotEmpty(t, log, "the debug log is captured")
	for _, s := range []string{secAlicePass, secNobodyPass, secCfgPass, secRootPass, secWrongPass,
		"guest-wrong", secAliceSecret, secNobodySec, secCfgSecret, secRootSecret} {
		assert.NotContains(t, log, s, "a secret in the log")
	}
}

func TestSecurityAMQP(t *testing.T) {
	env := startSecEnv(t)
	url := func(addr, user, pass, vhost string) string {
		return "amqp://" + user + ":" + pass + "@" + addr + "/" + vhost
	}
	loginRefused := "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile."
	// amqp091-go replaces a refused login by its own ErrCredentials: the
	// login cases speak the handshake directly to see the broker's answer.
	for _, tc := range []struct{ name, addr, user, pass string }{
		{"wrong password", env.amqp.local, "alice", secWrongPass},
		{"unknown user", env.amqp.local, "ghost", secWrongPass},
		{"guest from a non-loopback address", env.amqp.remote, "guest", "guest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, text := amqpLogin(t, tc.addr, tc.user, tc.pass)
			assert.EqualValues(t, 403, code)
			assert.Equal(t, loginRefused, text)
			_, err := rmq.Dial(url(tc.addr, tc.user, tc.pass, ""))
			assert.ErrorIs(t, err, rmq.ErrCredentials, "amqp091-go's view")
		})
	}
	for _, tc := range []struct {
		name, url string
		code      int
		text      string
	}{
		{"no permission on the vhost", url(env.amqp.local, "nobody", secNobodyPass, ""), 530,
			"NOT_ALLOWED - access to vhost '/' refused for user 'nobody'"},
		{"another user's vhost", url(env.amqp.local, "alice", secAlicePass, secVhost), 530,
			"NOT_ALLOWED - access to vhost '" + secVhost + "' refused for user 'alice'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := rmq.Dial(tc.url)
			if err == nil {
				c.Close()
			}
			var e *rmq.Error
			require.True(t, errors.As(err, &e), "got %v, want %d", err, tc.code)
			assert.Equal(t, tc.code, e.Code)
			assert.Equal(t, tc.text, e.Reason)
		})
	}
	t.Run("guest from loopback", func(t *testing.T) {
		c, err := rmq.Dial(url(env.amqp.local, "guest", "guest", ""))
		require.NoError(t, err)
		c.Close()
	})
	// channelRefusal runs f on a fresh channel of user and returns the
	// channel.close it caused.
	channelRefusal := func(t *testing.T, user, pass string, f func(ch *rmq.Channel) error) *rmq.Error {
		c, err := rmq.Dial(url(env.amqp.local, user, pass, ""))
		require.NoError(t, err)
		defer c.Close()
		ch, err := c.Channel()
		require.NoError(t, err)
		closed := ch.NotifyClose(make(chan *rmq.Error, 1))
		if err := f(ch); err != nil {
			var e *rmq.Error
			if errors.As(err, &e) {
				return e
			}
		}
		select {
		case e := <-closed:
			require.NotNil(t, e, "channel closed without an error")
			return e
		case <-time.After(20 * time.Second):
			t.Fatal("the channel was not closed")
			return nil
		}
	}
	t.Run("configure but not write", func(t *testing.T) {
		e := channelRefusal(t, "cfgonly", secCfgPass, func(ch *rmq.Channel) error {
			if _, err := ch.QueueDeclare("cfg-q", false, true, false, false, nil); err != nil {
				return err // configure is allowed: this must not fail
			}
			return ch.Publish("", "cfg-q", false, false, rmq.Publishing{Body: []byte("x")})
		})
		assert.Equal(t, 403, e.Code)
		assert.Equal(t, "ACCESS_REFUSED - write access to exchange 'amq.default' in vhost '/' refused for user 'cfgonly'", e.Reason)
	})
	t.Run("topic permission", func(t *testing.T) {
		e := channelRefusal(t, "alice", secAlicePass, func(ch *rmq.Channel) error {
			return ch.Publish("amq.topic", "denied.x", false, false, rmq.Publishing{Body: []byte("x")})
		})
		assert.Equal(t, 403, e.Code)
		assert.Equal(t, "ACCESS_REFUSED - write access to topic 'denied.x' in exchange 'amq.topic' in vhost '/' refused for user 'alice'", e.Reason)
	})
	t.Run("refused consumer gets nothing", func(t *testing.T) {
		// A queue alice may not read: she may neither get nor consume.
		require.NoError(t, env.b.Users().SetPermissions("alice", "/", ".*", ".*", "^alice-"))
		t.Cleanup(func() { _ = env.b.Users().SetPermissions("alice", "/", ".*", ".*", ".*") })
		c, err := rmq.Dial(url(env.amqp.local, "root", secRootPass, ""))
		require.NoError(t, err)
		defer c.Close()
		ch, err := c.Channel()
		require.NoError(t, err)
		_, err = ch.QueueDeclare("root-only", false, false, false, false, nil)
		require.NoError(t, err)
		require.NoError(t, ch.Publish("", "root-only", false, false, rmq.Publishing{Body: []byte(secBody)}))
		e := channelRefusal(t, "alice", secAlicePass, func(ch *rmq.Channel) error {
			m, ok, err := ch.Get("root-only", true)
			assert.False(t, ok, "alice got %q", m.Body)
			return err
		})
		assert.Equal(t, 403, e.Code)
		assert.Equal(t, "ACCESS_REFUSED - read access to queue 'root-only' in vhost '/' refused for user 'alice'", e.Reason)
		n, err := ch.QueueDeclarePassive("root-only", false, false, false, false, nil)
		require.NoError(t, err)
		assert.Equal(t, 1, n.Messages, "the message is still there")
	})
	env.assertLogClean(t)
}

// amqpLogin sends the AMQP 0-9-1 handshake up to connection.start-ok
// (PLAIN, announcing authentication_failure_close as amqp091-go does) and
// returns the connection.close it gets (0 and "" if the login passed).
func amqpLogin(t *testing.T, addr, user, pass string) (uint16, string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	require.NoError(t, nc.SetDeadline(time.Now().Add(20*time.Second)))
	r := amqp091.NewReader(nc, 0)
	next := func() amqp091.Method {
		for {
			f, err := r.ReadFrame()
			require.NoError(t, err)
			if f.Type == amqp091.FrameMethod {
				m, err := amqp091.DecodeMethod(f.Payload)
				require.NoError(t, err)
				return m
			}
		}
	}
	_, err = nc.Write([]byte(amqp091.ProtocolHeader))
	require.NoError(t, err)
	require.Equal(t, "connection.start", next().Name())
	var w amqp091.Writer
	require.NoError(t, w.WriteMethod(0, &amqp091.ConnectionStartOk{
		ClientProperties: message.Table{{Key: "capabilities", Value: message.Table{
			{Key: "authentication_failure_close", Value: true}}}},
		Mechanism: "PLAIN", Response: "\x00" + user + "\x00" + pass, Locale: "en_US"}))
	_, err = nc.Write(w.Buf)
	require.NoError(t, err)
	if m, ok := next().(*amqp091.ConnectionClose); ok {
		return m.ReplyCode, m.ReplyText
	}
	return 0, ""
}

// secMQTT3 connects an MQTT 3.1.1 client; the CONNACK return code and
// the client (nil unless accepted).
func secMQTT3(t *testing.T, addr, id, user, pass string, onMsg paho3.MessageHandler) (byte, paho3.Client) {
	t.Helper()
	o := paho3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetUsername(user).SetPassword(pass).SetAutoReconnect(false).SetConnectRetry(false).
		SetProtocolVersion(4).SetDefaultPublishHandler(onMsg).SetConnectTimeout(10 * time.Second)
	c := paho3.NewClient(o)
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(20*time.Second), "connect timeout")
	if tok.Error() != nil {
		return tok.(*paho3.ConnectToken).ReturnCode(), nil
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return 0, c
}

// secMQTT5 connects an MQTT 5 client; the CONNACK reason code and the
// client (nil unless accepted).
func secMQTT5(t *testing.T, addr, id, user, pass string, onMsg func(*paho5.Publish)) (byte, *paho5.Client) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	cfg := paho5.ClientConfig{ClientID: id, Conn: nc}
	if onMsg != nil {
		cfg.OnPublishReceived = []func(paho5.PublishReceived) (bool, error){
			func(pr paho5.PublishReceived) (bool, error) { onMsg(pr.Packet); return true, nil }}
	}
	c := paho5.NewClient(cfg)
	cp := &paho5.Connect{ClientID: id, CleanStart: true, KeepAlive: 30,
		Username: user, UsernameFlag: user != "", Password: []byte(pass), PasswordFlag: user != ""}
	ca, err := c.Connect(secCtx(t), cp)
	if err != nil {
		nc.Close()
		require.NotNil(t, ca, "no CONNACK: %v", err)
		return ca.ReasonCode, nil
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho5.Disconnect{}) })
	return ca.ReasonCode, c
}

func TestSecurityMQTT(t *testing.T) {
	env := startSecEnv(t)
	for _, tc := range []struct {
		name, addr, user, pass string
		v3, v5                 byte
	}{
		{"wrong password", env.mqtt.local, "alice", secWrongPass, 4, 0x86},
		{"unknown user", env.mqtt.local, "ghost", secWrongPass, 4, 0x86},
		{"no permission on the vhost", env.mqtt.local, "nobody", secNobodyPass, 5, 0x87},
		{"another user's vhost", env.mqtt.local, secVhost + ":alice", secAlicePass, 5, 0x87},
		{"guest from a non-loopback address", env.mqtt.remote, "guest", "guest", 5, 0x87},
		{"guest from loopback", env.mqtt.local, "guest", "guest", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _ := secMQTT3(t, tc.addr, "sec3", tc.user, tc.pass, nil)
			assert.Equal(t, tc.v3, code, "MQTT 3.1.1 CONNACK return code")
			code, _ = secMQTT5(t, tc.addr, "sec5", tc.user, tc.pass, nil)
			assert.Equal(t, tc.v5, code, "MQTT 5.0 CONNACK reason code")
		})
	}

	// Topic permissions: alice may use topics under allowed/ only. Her
	// subscription to denied/# is refused and receives nothing of what
	// guest publishes there, though allowed/ messages published after it
	// arrive (so the denied ones, published first, had their chance).
	var mu sync.Mutex
	var got3, got5 []string
	_, c3 := secMQTT3(t, env.mqtt.local, "alice3", "alice", secAlicePass, func(_ paho3.Client, m paho3.Message) {
		mu.Lock()
		got3 = append(got3, m.Topic())
		mu.Unlock()
	})
	require.NotNil(t, c3)
	tok := c3.SubscribeMultiple(map[string]byte{"denied/#": 1, "allowed/#": 1}, nil)
	require.True(t, tok.WaitTimeout(20*time.Second))
	res := tok.(*paho3.SubscribeToken).Result()
	assert.Equal(t, byte(0x80), res["denied/#"], "3.1.1 SUBACK failure")
	assert.Equal(t, byte(1), res["allowed/#"])

	_, c5 := secMQTT5(t, env.mqtt.local, "alice5", "alice", secAlicePass, func(p *paho5.Publish) {
		mu.Lock()
		got5 = append(got5, p.Topic)
		mu.Unlock()
	})
	require.NotNil(t, c5)
	sa, err := c5.Subscribe(secCtx(t), &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{
		{Topic: "denied/#", QoS: 1}, {Topic: "allowed/#", QoS: 1}}})
	require.Error(t, err, "a refused subscription is an error")
	assert.Equal(t, []byte{0x87, 1}, sa.Reasons, "5.0 SUBACK: not authorized, granted QoS 1")

	// guest may publish anywhere.
	_, g := secMQTT3(t, env.mqtt.local, "guest-pub", "guest", "guest", nil)
	require.NotNil(t, g)
	for _, topic := range []string{"denied/a", "denied/b", "allowed/last"} {
		tok := g.Publish(topic, 1, false, secBody)
		require.True(t, tok.WaitTimeout(20*time.Second))
		require.NoError(t, tok.Error())
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got3) > 0 && len(got5) > 0
	}, 20*time.Second, 20*time.Millisecond)
	mu.Lock()
	assert.Equal(t, []string{"allowed/last"}, got3, "3.1.1 subscriber")
	assert.Equal(t, []string{"allowed/last"}, got5, "5.0 subscriber")
	mu.Unlock()

	t.Run("publish refused", func(t *testing.T) {
		// Topic permission (alice) and missing write permission (cfgonly):
		// MQTT 5 PUBACK 0x87; MQTT 3.1.1 has no negative PUBACK, so the
		// broker closes the connection.
		for _, u := range []struct{ user, pass, topic string }{
			{"alice", secAlicePass, "denied/x"}, {"cfgonly", secCfgPass, "any/x"}} {
			code, c := secMQTT5(t, env.mqtt.local, u.user+"-p5", u.user, u.pass, nil)
			require.Zero(t, code)
			pr, err := c.Publish(secCtx(t), &paho5.Publish{Topic: u.topic, QoS: 1, Payload: []byte("x")})
			require.Error(t, err, u.user)
			assert.EqualValues(t, 0x87, pr.ReasonCode, u.user)

			code, c3 := secMQTT3(t, env.mqtt.local, u.user+"-p3", u.user, u.pass, nil)
			require.Zero(t, code)
			c3.Publish(u.topic, 1, false, "x")
			require.Eventually(t, func() bool { return !c3.IsConnectionOpen() }, 20*time.Second, 20*time.Millisecond, u.user)
		}
	})
	env.assertLogClean(t)
}

func (env *secEnv) awsConfig(t *testing.T, addr, key, secret string) aws.Config {
	t.Helper()
	cfg, err := awscfg.LoadDefaultConfig(context.Background(), awscfg.WithRegion("us-east-1"),
		awscfg.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(key, secret, "")),
		awscfg.WithRetryMaxAttempts(1), awscfg.WithSharedConfigFiles(nil), awscfg.WithSharedCredentialsFiles(nil))
	require.NoError(t, err)
	cfg.BaseEndpoint = aws.String("http://" + addr)
	return cfg
}

func (env *secEnv) sqsClient(t *testing.T, addr, key, secret string) *sqs.Client {
	return sqs.NewFromConfig(env.awsConfig(t, addr, key, secret))
}

// awsRefusal asserts err is the AWS error code with HTTP status 403 (AWS's
// for every refusal here except Kinesis's AccessDeniedException of a
// permission check, 400: see awsDenied400).
func awsRefusal(t *testing.T, err error, code string) {
	awsRefusalStatus(t, err, code, http.StatusForbidden)
}

// awsDenied400 is Kinesis's AccessDeniedException for a missing
// permission, which AWS answers with HTTP 400.
func awsDenied400(t *testing.T, err error) {
	awsRefusalStatus(t, err, "AccessDeniedException", http.StatusBadRequest)
}

func awsRefusalStatus(t *testing.T, err error, code string, status int) {
	t.Helper()
	require.Error(t, err)
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "not an API error: %v", err)
	assert.Equal(t, code, ae.ErrorCode(), "%v", err)
	var re interface{ HTTPStatusCode() int }
	require.True(t, errors.As(err, &re), "no HTTP status: %v", err)
	assert.Equal(t, status, re.HTTPStatusCode(), "%v", err)
}

func TestSecuritySigV4(t *testing.T) {
	env := startSecEnv(t)
	type call func(cfg aws.Config) error
	listQueues := func(cfg aws.Config) error {
		_, err := sqs.NewFromConfig(cfg).ListQueues(context.Background(), &sqs.ListQueuesInput{})
		return err
	}
	createQueue := func(cfg aws.Config) error {
		_, err := sqs.NewFromConfig(cfg).CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("sec-q")})
		return err
	}
	listTopics := func(cfg aws.Config) error {
		_, err := sns.NewFromConfig(cfg).ListTopics(context.Background(), &sns.ListTopicsInput{})
		return err
	}
	createTopic := func(cfg aws.Config) error {
		_, err := sns.NewFromConfig(cfg).CreateTopic(context.Background(), &sns.CreateTopicInput{Name: aws.String("sec-t")})
		return err
	}
	listStreams := func(cfg aws.Config) error {
		_, err := kinesis.NewFromConfig(cfg).ListStreams(context.Background(), &kinesis.ListStreamsInput{})
		return err
	}
	createStream := func(cfg aws.Config) error {
		_, err := kinesis.NewFromConfig(cfg).CreateStream(context.Background(), &kinesis.CreateStreamInput{
			StreamName: aws.String("sec-s"), ShardCount: aws.Int32(1)})
		return err
	}
	type want struct{ sqs, sns, kinesis string }
	for _, tc := range []struct {
		name, addr, key, secret string
		auth                    want // any call
		create                  want // create calls, when auth passes
	}{
		{"wrong secret", env.aws.local, "AKIAALICE", secWrongPass,
			want{"SignatureDoesNotMatch", "SignatureDoesNotMatch", "InvalidSignatureException"}, want{}},
		{"unknown key", env.aws.local, "AKIAGHOST", secWrongPass,
			want{"InvalidClientTokenId", "InvalidClientTokenId", "UnrecognizedClientException"}, want{}},
		{"guest key from a non-loopback address", env.aws.remote, "test", "test",
			want{"AccessDenied", "AccessDenied", "AccessDeniedException"}, want{}},
		{"no permission on the vhost", env.aws.local, "AKIANOBODY", secNobodySec,
			want{}, want{"AccessDenied", "AuthorizationError", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := env.awsConfig(t, tc.addr, tc.key, tc.secret)
			if tc.auth.sqs != "" {
				awsRefusal(t, listQueues(cfg), tc.auth.sqs)
				awsRefusal(t, listTopics(cfg), tc.auth.sns)
				awsRefusal(t, listStreams(cfg), tc.auth.kinesis)
				return
			}
			awsRefusal(t, createQueue(cfg), tc.create.sqs)
			awsRefusal(t, createTopic(cfg), tc.create.sns)
			awsDenied400(t, createStream(cfg))
		})
	}
	t.Run("configure but not write", func(t *testing.T) {
		c := env.sqsClient(t, env.aws.local, "AKIACFGONLY", secCfgSecret)
		out, err := c.CreateQueue(secCtx(t), &sqs.CreateQueueInput{QueueName: aws.String("cfg-q")})
		require.NoError(t, err, "configure is allowed")
		_, err = c.SendMessage(secCtx(t), &sqs.SendMessageInput{QueueUrl: out.QueueUrl, MessageBody: aws.String("x")})
		awsRefusal(t, err, "AccessDenied")
		sn := sns.NewFromConfig(env.awsConfig(t, env.aws.local, "AKIACFGONLY", secCfgSecret))
		topic, err := sn.CreateTopic(secCtx(t), &sns.CreateTopicInput{Name: aws.String("cfg-t")})
		require.NoError(t, err, "configure is allowed")
		_, err = sn.Publish(secCtx(t), &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("x")})
		awsRefusal(t, err, "AuthorizationError")
	})
	t.Run("unauthorized gets nothing", func(t *testing.T) {
		hiddenURL := "http://" + env.aws.local + "/" + secAccount + "/" + secHidden + "-sqs"
		for _, key := range []struct{ id, secret string }{
			{"AKIAALICE", secAliceSecret}, {"AKIANOBODY", secNobodySec}} {
			c := env.sqsClient(t, env.aws.local, key.id, key.secret)
			lq, err := c.ListQueues(secCtx(t), &sqs.ListQueuesInput{})
			if err == nil {
				for _, u := range lq.QueueUrls {
					assert.NotContains(t, u, secHidden, key.id)
				}
			} else {
				awsRefusal(t, err, "AccessDenied")
			}
			gu, err := c.GetQueueUrl(secCtx(t), &sqs.GetQueueUrlInput{QueueName: aws.String(secHidden + "-sqs"),
				QueueOwnerAWSAccountId: aws.String(secAccount)})
			require.Error(t, err, "%s got %v", key.id, gu)
			assert.NotContains(t, err.Error(), secHidden)
			rm, err := c.ReceiveMessage(secCtx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(hiddenURL)})
			require.Error(t, err, "%s received %v", key.id, rm)
			awsRefusal(t, err, "AccessDenied")
		}
		// root still finds it, with its message.
		root := env.sqsClient(t, env.aws.local, "AKIAROOT", secRootSecret)
		rm, err := root.ReceiveMessage(secCtx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(hiddenURL),
			VisibilityTimeout: 0})
		require.NoError(t, err)
		require.Len(t, rm.Messages, 1)
		assert.Equal(t, secBody, aws.ToString(rm.Messages[0].Body))
	})
	env.assertLogClean(t)
}

// mgmtGet sends GET path to the management API as user.
func (env *secEnv) mgmtGet(t *testing.T, addr, path, user, pass string) (int, string) {
	t.Helper()
	return env.mgmtDo(t, addr, http.MethodGet, path, user, pass, "")
}

func (env *secEnv) mgmtDo(t *testing.T, addr, method, path, user, pass, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(secCtx(t), method, "http://"+addr+path, strings.NewReader(body))
	require.NoError(t, err)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestSecurityManagement(t *testing.T) {
	env := startSecEnv(t)
	for _, tc := range []struct{ name, addr, user, pass, reason string }{
		{"no credentials", env.mgmt.local, "", "", ""},
		{"wrong password", env.mgmt.local, "alice", secWrongPass, "Login failed"},
		{"unknown user", env.mgmt.local, "ghost", secWrongPass, "Login failed"},
		{"guest from a non-loopback address", env.mgmt.remote, "guest", "guest", "User can only log in via localhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/api/overview", "/api/queues", "/api/definitions", "/api/users"} {
				code, body := env.mgmtGet(t, tc.addr, path, tc.user, tc.pass)
				assert.Equal(t, http.StatusUnauthorized, code, path)
				assert.Contains(t, body, tc.reason, path)
				assert.NotContains(t, body, secHidden, path)
			}
		})
	}
	t.Run("guest from loopback", func(t *testing.T) {
		code, _ := env.mgmtGet(t, env.mgmt.local, "/api/overview", "guest", "guest")
		assert.Equal(t, http.StatusOK, code)
	})
	t.Run("no permission on the vhost gets nothing", func(t *testing.T) {
		// alice (no permissions on secVhost) and nobody (none at all).
		for _, u := range []struct{ user, pass string }{{"alice", secAlicePass}, {"nobody", secNobodyPass}} {
			for _, path := range []string{"/api/queues", "/api/queues/" + secVhost, "/api/exchanges", "/api/bindings",
				"/api/queues/" + secVhost + "/" + secHidden, "/api/queues/" + secVhost + "/" + secHidden + "/bindings",
				"/api/vhosts", "/api/vhosts/" + secVhost, "/api/permissions", "/api/definitions", "/api/users"} {
				code, body := env.mgmtGet(t, env.mgmt.local, path, u.user, u.pass)
				assert.NotContains(t, body, secHidden, "%s %s: %d", u.user, path, code)
				if strings.Contains(path, secVhost) { // RabbitMQ's answer
					assert.Equal(t, http.StatusUnauthorized, code, "%s %s", u.user, path)
					assert.Contains(t, body, "Not authorised to access virtual host", "%s %s", u.user, path)
				}
			}
			code, body := env.mgmtDo(t, env.mgmt.local, http.MethodPost, "/api/queues/"+secVhost+"/"+secHidden+"/get",
				u.user, u.pass, `{"count":5,"ackmode":"ack_requeue_true","encoding":"auto"}`)
			assert.NotEqual(t, http.StatusOK, code, u.user)
			assert.NotContains(t, body, secBody, u.user)
		}
		// root sees the queue and its message.
		code, body := env.mgmtGet(t, env.mgmt.local, "/api/queues/"+secVhost+"/"+secHidden, "root", secRootPass)
		require.Equal(t, http.StatusOK, code)
		assert.Contains(t, body, secHidden)
	})
	t.Run("configure but not write", func(t *testing.T) {
		code, body := env.mgmtDo(t, env.mgmt.local, http.MethodPost, "/api/exchanges/%2F/amq.default/publish",
			"cfgonly", secCfgPass, `{"properties":{},"routing_key":"cfg-q","payload":"x","payload_encoding":"string"}`)
		assert.Equal(t, http.StatusUnauthorized, code, body)
		assert.Contains(t, body, "write access to exchange 'amq.default' in vhost '/' refused for user 'cfgonly'")
	})
	t.Run("no secret in any response", func(t *testing.T) {
		// Every listing the API has, as the administrator.
		for _, path := range []string{"/api/overview", "/api/whoami", "/api/users", "/api/users/alice", "/api/users/root",
			"/api/users/alice/permissions", "/api/users/alice/topic-permissions", "/api/permissions",
			"/api/topic-permissions", "/api/vhosts", "/api/connections", "/api/channels", "/api/consumers",
			"/api/queues", "/api/exchanges", "/api/bindings", "/api/policies", "/api/parameters",
			"/api/global-parameters", "/api/nodes", "/api/extensions", "/api/definitions", "/api/definitions/%2F",
			"/api/users/without-permissions", "/api/auth", "/api/health/checks/alarms"} {
			code, body := env.mgmtGet(t, env.mgmt.local, path, "root", secRootPass)
			for _, s := range []string{secAlicePass, secNobodyPass, secCfgPass, secRootPass,
				secAliceSecret, secNobodySec, secCfgSecret, secRootSecret} {
				assert.NotContains(t, body, s, "%s (%d)", path, code)
			}
		}
	})
	t.Run("definitions carry only hashes", func(t *testing.T) {
		code, body := env.mgmtGet(t, env.mgmt.local, "/api/definitions", "root", secRootPass)
		require.Equal(t, http.StatusOK, code)
		d, err := auth.ParseDefinitions([]byte(body))
		require.NoError(t, err)
		names := map[string]bool{}
		for _, u := range d.Users {
			names[u.Name] = true
			assert.Empty(t, u.Password, u.Name)
			assert.NotEmpty(t, u.PasswordHash, u.Name)
		}
		assert.True(t, names["alice"] && names["root"], "users exported: %v", names)
		assert.NotContains(t, body, `"password":`)
	})
	env.assertLogClean(t)
}
