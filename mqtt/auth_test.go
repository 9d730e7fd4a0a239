package mqtt_test

import (
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/mqtt"
)

// code3 connects a 3.1.1 client and returns the CONNACK return code.
func code3(t *testing.T, addr, user, pass string) byte {
	t.Helper()
	o := paho3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("c3").
		SetUsername(user).SetPassword(pass).SetAutoReconnect(false).SetProtocolVersion(4)
	c := paho3.NewClient(o)
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second))
	if tok.Error() == nil {
		c.Disconnect(0)
	}
	return tok.(*paho3.ConnectToken).ReturnCode()
}

// code5 connects an MQTT 5 client and returns the CONNACK reason code.
func code5(t *testing.T, addr, user, pass string) byte {
	t.Helper()
	cp := &paho5.Connect{ClientID: "c5", CleanStart: true}
	if user != "" {
		cp.Username, cp.UsernameFlag, cp.Password, cp.PasswordFlag = user, true, []byte(pass), true
	}
	c, ca, err := dial5(t, addr, cp, nil)
	if err == nil {
		_ = c.Disconnect(&paho5.Disconnect{})
	}
	require.NotNil(t, ca, "no CONNACK: %v", err)
	return ca.ReasonCode
}

func TestAuthReasonCodes(t *testing.T) {
	tb := startBroker(t, mqtt.Config{})
	users := tb.b.Users()
	require.NoError(t, users.AddUser("nobody", "pw", nil)) // no permissions on "/"
	require.NoError(t, users.AddUser("dev", "pw", nil))
	require.NoError(t, users.SetPermissions("dev", "/", ".*", ".*", ".*"))
	cases := []struct {
		name, user, pass string
		v3, v5           byte
	}{
		{"ok", "guest", "guest", 0, 0},
		{"vhost prefix", "/:dev", "pw", 0, 0},
		{"bad password", "guest", "nope", 0x04, 0x86},
		{"unknown user", "ghost", "pw", 0x04, 0x86},
		{"no vhost access", "nobody", "pw", 0x05, 0x87},
		{"unknown vhost", "nowhere:dev", "pw", 0x05, 0x87},
		{"anonymous off", "", "", 0x04, 0x86},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.v3, code3(t, tb.addr, tc.user, tc.pass), "3.1.1")
			require.Equal(t, tc.v5, code5(t, tb.addr, tc.user, tc.pass), "5.0")
		})
	}
}

func TestAnonymousActsAsDefaultUser(t *testing.T) {
	tb := startBroker(t, mqtt.Config{AllowAnonymous: true})
	require.Equal(t, byte(0), code3(t, tb.addr, "", ""))
	require.Equal(t, byte(0), code5(t, tb.addr, "", ""))
}

// aclBroker has user "dev" allowed only topics under "allowed/".
func aclBroker(t *testing.T) *testBroker {
	tb := startBroker(t, mqtt.Config{})
	users := tb.b.Users()
	require.NoError(t, users.AddUser("dev", "pw", nil))
	require.NoError(t, users.SetPermissions("dev", "/", ".*", ".*", ".*"))
	require.NoError(t, users.SetTopicPermissions("dev", "/", "amq.topic", `^allowed\.`, `^allowed\.`))
	return tb
}

func TestACLv5(t *testing.T) {
	tb := aclBroker(t)
	cp := &paho5.Connect{ClientID: "acl5", CleanStart: true, Username: "dev", UsernameFlag: true,
		Password: []byte("pw"), PasswordFlag: true}
	c, _, err := dial5(t, tb.addr, cp, nil)
	require.NoError(t, err)
	sa, err := c.Subscribe(ctx10(t), &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{
		{Topic: "allowed/x", QoS: 1}, {Topic: "denied/x", QoS: 1}}})
	require.Error(t, err)
	require.Equal(t, []byte{1, 0x87}, sa.Reasons)

	pr, err := c.Publish(ctx10(t), &paho5.Publish{Topic: "denied/x", QoS: 1, Payload: []byte("x")})
	require.Error(t, err)
	require.EqualValues(t, 0x87, pr.ReasonCode)
	pr, err = c.Publish(ctx10(t), &paho5.Publish{Topic: "allowed/x", QoS: 1, Payload: []byte("x")})
	require.NoError(t, err)
	require.EqualValues(t, 0, pr.ReasonCode)
}

func TestACLv3(t *testing.T) {
	tb := aclBroker(t)
	c, err := dial3(t, tb.addr, "acl3", "dev", "pw", true, nil)
	require.NoError(t, err)
	tok := c.SubscribeMultiple(map[string]byte{"allowed/x": 1}, nil)
	wait(t, tok)
	tok = c.Subscribe("denied/x", 1, nil)
	require.True(t, tok.WaitTimeout(10*time.Second))
	st := tok.(*paho3.SubscribeToken)
	require.Equal(t, byte(0x80), st.Result()["denied/x"])

	// QoS 0: dropped, connection stays; QoS 1: connection closed.
	wait(t, c.Publish("denied/x", 0, false, "x"))
	wait(t, c.Publish("allowed/x", 1, false, "x"))
	require.True(t, c.IsConnected())
	c.Publish("denied/x", 1, false, "x")
	eventually(t, func() bool { return !c.IsConnectionOpen() })
}
