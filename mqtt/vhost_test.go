package mqtt_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/route"
	"github.com/junctionmq/junction/mqtt"
)

// vhostUser is one side of the isolation tests: a user in its own vhost.
type vhostUser struct {
	login, pass string // MQTT username ("vhost:user" or "user") and password
	tag         string // payload prefix of its messages
}

func (u vhostUser) connect(id string) *paho5.Connect {
	return &paho5.Connect{ClientID: id, CleanStart: true, Username: u.login, UsernameFlag: true,
		Password: []byte(u.pass), PasswordFlag: true}
}

// twoVhosts starts a broker with alice in the default vhost "/" and bob in
// vhost "b", each with full permissions in its own vhost only.
func twoVhosts(t *testing.T) (*testBroker, vhostUser, vhostUser) {
	t.Helper()
	tb := startBroker(t, mqtt.Config{})
	_, err := tb.b.AddVhost("b")
	require.NoError(t, err)
	users := tb.b.Users()
	require.NoError(t, users.AddUser("alice", "pa", nil))
	require.NoError(t, users.SetPermissions("alice", "/", ".*", ".*", ".*"))
	require.NoError(t, users.AddUser("bob", "pb", nil))
	require.NoError(t, users.SetPermissions("bob", "b", ".*", ".*", ".*"))
	return tb, vhostUser{"alice", "pa", "a-"}, vhostUser{"b:bob", "pb", "b-"}
}

// vhostQueue declares a queue in vhost bound to amq.topic with key.
func vhostQueue(t *testing.T, tb *testBroker, vhost, name, key string) *queue.Queue {
	t.Helper()
	v, err := tb.b.Vhost(vhost)
	require.NoError(t, err)
	q, _, err := v.DeclareQueue(core.QueueDecl{Name: name, Durable: true})
	require.NoError(t, err)
	require.NoError(t, v.Bind(route.Binding{Source: "amq.topic",
		Dest: route.Dest{Kind: route.DestQueue, Name: name}, Key: key}))
	return q
}

// drainQueue returns the bodies of the messages ready in q.
func drainQueue(q *queue.Queue) []string {
	var out []string
	for {
		d, ok := q.Get(true)
		if !ok {
			return out
		}
		out = append(out, string(d.Msg.Body))
	}
}

// payloads returns the payloads an inbox holds, from either client kind.
func (in *inbox) payloads() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []string
	for _, p := range in.msgs {
		out = append(out, string(p.Payload))
	}
	for _, m := range in.m3 {
		out = append(out, string(m.Payload()))
	}
	return out
}

// onlyTagged asserts that every payload in in starts with tag and that want
// are among them.
func onlyTagged(t *testing.T, in *inbox, tag string, want ...string) {
	t.Helper()
	eventually(t, func() bool {
		got := in.payloads()
		for _, w := range want {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				return false
			}
		}
		return true
	})
	for _, p := range in.payloads() {
		require.True(t, strings.HasPrefix(p, tag), "cross-vhost message %q reached a client of tag %q", p, tag)
	}
}

// TestVhostIsolation: two users in two vhosts use the same topic names with
// MQTT 5 and 3.1.1 clients; neither sees the other's live, retained, will or
// shared-subscription messages, and each vhost's amq.topic gets only its
// own vhost's publishes, and delivers only to its own MQTT subscribers.
func TestVhostIsolation(t *testing.T) {
	tb, alice, bob := twoVhosts(t)
	qa := vhostQueue(t, tb, "/", "qa", "t.#")
	qb := vhostQueue(t, tb, "b", "qb", "t.#")

	type side struct {
		u            vhostUser
		all5, all3   *inbox // t/# subscribers, MQTT 5 and 3.1.1
		shared       *inbox // $share/g/t/s member
		pub          *paho5.Client
		vhost, short string
	}
	mk := func(u vhostUser, vhost, short string) *side {
		s := &side{u: u, all5: &inbox{}, all3: &inbox{}, shared: &inbox{}, vhost: vhost, short: short}
		c, _, err := dial5(t, tb.addr, u.connect(short+"-all5"), s.all5)
		require.NoError(t, err)
		_, err = c.Subscribe(ctx10(t), &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: "t/#", QoS: 1}}})
		require.NoError(t, err)
		c3, err := dial3(t, tb.addr, short+"-all3", u.login, u.pass, true, s.all3.on3)
		require.NoError(t, err)
		wait(t, c3.Subscribe("t/#", 1, nil))
		cs, _, err := dial5(t, tb.addr, u.connect(short+"-shared"), s.shared)
		require.NoError(t, err)
		_, err = cs.Subscribe(ctx10(t), &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: "$share/g/t/s", QoS: 1}}})
		require.NoError(t, err)
		s.pub, _, err = dial5(t, tb.addr, u.connect(short+"-pub"), nil)
		require.NoError(t, err)
		return s
	}
	a, b := mk(alice, "/", "a"), mk(bob, "b", "b")

	for _, s := range []*side{a, b} {
		for _, p := range []*paho5.Publish{
			{Topic: "t/live", QoS: 1, Payload: []byte(s.u.tag + "live")},
			{Topic: "t/live0", QoS: 0, Payload: []byte(s.u.tag + "live0")},
			{Topic: "t/s", QoS: 1, Payload: []byte(s.u.tag + "shared")},
			{Topic: "t/r", QoS: 1, Retain: true, Payload: []byte(s.u.tag + "retained")},
		} {
			publish5(t, s.pub, p)
		}
		// A will: the connection ends without DISCONNECT.
		nc, err := net.Dial("tcp", tb.addr)
		require.NoError(t, err)
		w := paho5.NewClient(paho5.ClientConfig{ClientID: s.short + "-will", Conn: nc})
		cp := s.u.connect(s.short + "-will")
		cp.KeepAlive = 30
		cp.WillMessage = &paho5.WillMessage{Topic: "t/will", QoS: 1, Payload: []byte(s.u.tag + "will")}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = w.Connect(ctx, cp)
		cancel()
		require.NoError(t, err)
		nc.Close()
	}
	// A message from another face, in vhost b only.
	v, err := tb.b.Vhost("b")
	require.NoError(t, err)
	_, err = v.Publish(&message.Message{Exchange: "amq.topic", RoutingKey: "t.core",
		Body: []byte("b-core"), Origin: message.FaceAMQP}, nil)
	require.NoError(t, err)

	for _, s := range []*side{a, b} {
		want := []string{s.u.tag + "live", s.u.tag + "live0", s.u.tag + "shared", s.u.tag + "retained", s.u.tag + "will"}
		if s == b {
			want = append(want, "b-core")
		}
		onlyTagged(t, s.all5, s.u.tag, want...)
		onlyTagged(t, s.all3, s.u.tag, want...)
		onlyTagged(t, s.shared, s.u.tag, s.u.tag+"shared")

		// Retained messages: a new subscriber sees its own vhost's only.
		ret := &inbox{}
		c, _, err := dial5(t, tb.addr, s.u.connect(s.short+"-ret"), ret)
		require.NoError(t, err)
		_, err = c.Subscribe(ctx10(t), &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: "#", QoS: 1}}})
		require.NoError(t, err)
		onlyTagged(t, ret, s.u.tag, s.u.tag+"retained")
		marker(t, s.pub, "t/marker", ret, len(ret.payloads())+1)
		for _, p := range ret.payloads() {
			require.True(t, strings.HasPrefix(p, s.u.tag) || p == "marker", "cross-vhost retained %q", p)
		}
	}

	// The core copies: each vhost's amq.topic got its own vhost's publishes.
	var gotA, gotB []string
	eventually(t, func() bool {
		gotA, gotB = append(gotA, drainQueue(qa)...), append(gotB, drainQueue(qb)...)
		return len(gotA) >= 6 && len(gotB) >= 7
	})
	for _, p := range gotA {
		require.True(t, strings.HasPrefix(p, "a-") || p == "marker", "vhost / got %q", p)
	}
	for _, p := range gotB {
		require.True(t, strings.HasPrefix(p, "b-") || p == "marker", "vhost b got %q", p)
	}
}

// TestVhostClientIDNotShared: a client id that names a session of another
// vhost is refused rather than handed that session.
func TestVhostClientIDNotShared(t *testing.T) {
	tb, alice, bob := twoVhosts(t)
	cp := alice.connect("same")
	cp.CleanStart = false
	cp.Properties = &paho5.ConnectProperties{SessionExpiryInterval: u32(600)}
	c, _, err := dial5(t, tb.addr, cp, nil)
	require.NoError(t, err)
	_, err = c.Subscribe(ctx10(t), &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: "t/#", QoS: 1}}})
	require.NoError(t, err)
	require.NoError(t, c.Disconnect(&paho5.Disconnect{}))

	_, ca, err := dial5(t, tb.addr, bob.connect("same"), nil)
	require.Error(t, err)
	require.NotNil(t, ca)
	require.EqualValues(t, 0x85, ca.ReasonCode)

	_, err = dial3(t, tb.addr, "same", bob.login, bob.pass, true, nil)
	require.Error(t, err)

	// The owner gets its session back.
	_, ca, err = dial5(t, tb.addr, cp, nil)
	require.NoError(t, err)
	require.True(t, ca.SessionPresent)
}

// TestVhostRootsSurviveRestart: retained messages and persistent
// subscriptions keep their vhost across a restart.
func TestVhostRootsSurviveRestart(t *testing.T) {
	tb, alice, bob := twoVhosts(t)
	for _, u := range []vhostUser{alice, bob} {
		c, _, err := dial5(t, tb.addr, u.connect(u.tag+"p"), nil)
		require.NoError(t, err)
		publish5(t, c, &paho5.Publish{Topic: "t/r", QoS: 1, Retain: true, Payload: []byte(u.tag + "retained")})
		cp := u.connect(u.tag + "s")
		cp.CleanStart = false
		cp.Properties = &paho5.ConnectProperties{SessionExpiryInterval: u32(600)}
		s, _, err := dial5(t, tb.addr, cp, nil)
		require.NoError(t, err)
		_, err = s.Subscribe(ctx10(t), &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: "t/q", QoS: 1}}})
		require.NoError(t, err)
		require.NoError(t, s.Disconnect(&paho5.Disconnect{}))
	}
	tb.restart()
	// Published while the persistent sessions are offline.
	for _, u := range []vhostUser{alice, bob} {
		c, _, err := dial5(t, tb.addr, u.connect(u.tag+"p"), nil)
		require.NoError(t, err)
		publish5(t, c, &paho5.Publish{Topic: "t/q", QoS: 1, Payload: []byte(u.tag + "queued")})
	}
	for _, u := range []vhostUser{alice, bob} {
		in := &inbox{}
		cp := u.connect(u.tag + "s")
		cp.CleanStart = false
		cp.Properties = &paho5.ConnectProperties{SessionExpiryInterval: u32(600)}
		s, _, err := dial5(t, tb.addr, cp, in)
		require.NoError(t, err)
		onlyTagged(t, in, u.tag, u.tag+"queued")
		_, err = s.Subscribe(ctx10(t), &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: "t/r", QoS: 1}}})
		require.NoError(t, err)
		onlyTagged(t, in, u.tag, u.tag+"queued", u.tag+"retained")
	}
}
