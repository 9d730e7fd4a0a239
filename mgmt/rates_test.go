package mgmt_test

import (
	"context"
	"net"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/mgmt"
	"github.com/junctionmq/junction/persist"
)

// startFast is start with rates sampled every 20 ms.
func startFast(t *testing.T) *env {
	t.Helper()
	st, err := persist.Open("", persist.Options{InMemory: true, GCInterval: -1})
	require.NoError(t, err)
	b, err := core.Open(core.Config{Store: st, Auth: auth.Options{KeyFile: t.TempDir() + "/auth.key"}})
	require.NoError(t, err)
	aln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	as := amqp.NewServer(amqp.NewCoreBroker(b), amqp.Config{})
	ms := mgmt.New(b, as, nil, mgmt.WithStatsInterval(20*time.Millisecond))
	go as.Serve(aln)
	go ms.Serve(mln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ms.Shutdown(ctx)
		_ = as.Close(ctx)
		_ = b.Close()
		_ = st.Close()
	})
	return &env{core: b, amqpURL: "amqp://" + aln.Addr().String() + "/", mgmtBase: "http://" + mln.Addr().String()}
}

// TestMessageStats publishes, consumes and acks over AMQP and reads the
// totals and their rate fields with rabbit-hole: the overview's and the
// queue's message_stats.
func TestMessageStats(t *testing.T) {
	e := startFast(t)
	rh := e.client(t, "guest", "guest")
	conn := e.dial(t, "guest", "guest", "rates")
	ch, err := conn.Channel()
	require.NoError(t, err)
	_, err = ch.QueueDeclare("r", false, false, false, false, nil)
	require.NoError(t, err)
	for range 20 {
		require.NoError(t, ch.Publish("", "r", false, false, rmq.Publishing{Body: []byte("m")}))
	}
	msgs, err := ch.Consume("r", "", false, false, false, false, nil)
	require.NoError(t, err)
	for range 20 {
		select {
		case d := <-msgs:
			require.NoError(t, d.Ack(false))
		case <-time.After(10 * time.Second):
			t.Fatal("no delivery")
		}
	}
	require.Eventually(t, func() bool {
		ov, err := rh.Overview()
		require.NoError(t, err)
		ms := ov.MessageStats
		return ms.Publish == 20 && ms.Deliver == 20 && ms.DeliverGet == 20 && ms.Ack == 20
	}, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		q, err := rh.GetQueue("/", "r")
		require.NoError(t, err)
		return q.MessageStats != nil && q.MessageStats.Publish == 20 && q.MessageStats.Ack == 20 &&
			q.MessageStats.DeliverGet == 20
	}, 10*time.Second, 20*time.Millisecond)

	// The rate fields are there, in RabbitMQ's shape.
	var ov map[string]any
	e.getJSON(t, "/api/overview", &ov)
	ms := ov["message_stats"].(map[string]any)
	for _, k := range []string{"publish", "deliver", "deliver_no_ack", "get", "get_no_ack", "deliver_get", "ack",
		"redeliver", "drop_unroutable"} {
		assert.Contains(t, ms, k)
		assert.Contains(t, ms[k+"_details"], "rate", k)
	}
	assert.Contains(t, ov["queue_totals"], "messages_details")
	var qs []map[string]any
	e.getJSON(t, "/api/queues", &qs)
	require.Len(t, qs, 1)
	assert.Contains(t, qs[0]["message_stats"], "deliver_get_details")
	assert.Contains(t, qs[0], "messages_details")
}
