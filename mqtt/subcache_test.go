package mqtt

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/persist"
)

// TestSubsCacheFollowsSubscriptions: the cached subscriber lookup of
// copies.write sees a subscription once its SUBACK is sent, and no longer
// sees it once its UNSUBACK is, or once a clean session ends.
func TestSubsCacheFollowsSubscriptions(t *testing.T) {
	dir := t.TempDir()
	st, err := persist.Open(dir, persist.Options{InMemory: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	b, err := core.Open(core.Config{Store: st, Auth: auth.Options{KeyFile: filepath.Join(dir, "auth.key")}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	s, err := New(b, Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, s.Shutdown(ctx))
	})

	topic := rootsOf("/").topic("cache/t")
	has := func(id string) bool {
		_, ok := s.subs.lookup(s.m.Topics, topic).Subscriptions[id]
		return ok
	}
	require.False(t, has("sub1")) // cached: nobody

	o := paho3.NewClientOptions().AddBroker("tcp://" + ln.Addr().String()).SetClientID("sub1").
		SetUsername("guest").SetPassword("guest").SetAutoReconnect(false).SetProtocolVersion(4)
	c := paho3.NewClient(o)
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())
	tok = c.Subscribe("cache/+", 1, nil)
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())
	require.True(t, has("sub1"))
	require.True(t, has("sub1")) // from the cache

	tok = c.Unsubscribe("cache/+")
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())
	require.False(t, has("sub1"))

	tok = c.Subscribe("cache/#", 1, nil)
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.True(t, has("sub1"))
	c.Disconnect(0) // a clean session: its subscriptions end with it
	deadline := time.Now().Add(10 * time.Second)
	for has("sub1") {
		require.True(t, time.Now().Before(deadline), "subscription of an ended session still cached")
		time.Sleep(5 * time.Millisecond)
	}
}
