package mqtt_test

import (
	"net"
	"net/http"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/mqtt"
)

func TestWebSocket(t *testing.T) {
	tb := startBroker(t, mqtt.Config{AllowedOrigins: []string{"https://app.example"}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = tb.srv.ServeWebSocket(ln) }()
	url := "ws://" + ln.Addr().String() + "/ws"

	in := &inbox{}
	o := paho3.NewClientOptions().AddBroker(url).SetClientID("ws1").SetUsername("guest").
		SetPassword("guest").SetAutoReconnect(false).SetProtocolVersion(4).SetDefaultPublishHandler(in.on3)
	c := paho3.NewClient(o)
	wait(t, c.Connect())
	t.Cleanup(func() { c.Disconnect(0) })
	wait(t, c.Subscribe("ws/t", 1, nil))
	wait(t, c.Publish("ws/t", 1, false, "over ws"))
	require.Equal(t, "over ws", string(in.wait3(t, 1)[0].Payload()))

	cases := []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"https://app.example", true},
		{"http://" + ln.Addr().String(), true},
		{"https://evil.example", false},
	}
	for _, tc := range cases {
		t.Run(tc.origin, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			d := websocket.Dialer{Subprotocols: []string{"mqtt"}, HandshakeTimeout: 5 * time.Second}
			wc, resp, err := d.Dial(url, h)
			if tc.ok {
				require.NoError(t, err)
				wc.Close()
				return
			}
			require.Error(t, err)
			require.Equal(t, http.StatusForbidden, resp.StatusCode)
		})
	}
}
