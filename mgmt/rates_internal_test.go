package mgmt

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/persist"
)

// TestRatesArithmetic samples by hand (the ticker is an hour) and places
// the samples two seconds apart, so the rates are exact.
func TestRatesArithmetic(t *testing.T) {
	st, err := persist.Open("", persist.Options{InMemory: true, GCInterval: -1})
	require.NoError(t, err)
	b, err := core.Open(core.Config{Store: st, Auth: auth.Options{KeyFile: t.TempDir() + "/auth.key"}})
	require.NoError(t, err)
	s := New(b, nil, nil, WithStatsInterval(time.Hour))
	t.Cleanup(func() {
		s.rates.stop()
		_ = b.Close()
		_ = st.Close()
	})
	v, err := b.Vhost("/")
	require.NoError(t, err)
	q, _, err := v.DeclareQueue(core.QueueDecl{Name: "q"})
	require.NoError(t, err)
	s.rates.take()
	for range 10 {
		_, err := v.Publish(&message.Message{RoutingKey: "q", Body: []byte("x")}, nil)
		require.NoError(t, err)
	}
	_, _ = v.Publish(&message.Message{RoutingKey: "nowhere", Body: []byte("x")}, nil)
	for range 4 {
		d, ok := q.Get(false)
		require.True(t, ok)
		require.NoError(t, q.Ack(d.Seq))
	}
	d, ok := q.Get(true)
	require.True(t, ok)
	_ = d
	s.rates.take()
	s.rates.mu.Lock()
	s.rates.cur.at = s.rates.prev.at.Add(2 * time.Second)
	s.rates.mu.Unlock()

	stats, dr := s.rates.overview()
	assert.EqualValues(t, 11, stats["publish"]) // the unroutable one too, as RabbitMQ's publish counts it
	assert.Equal(t, details{Rate: 5.5}, stats["publish_details"])
	assert.EqualValues(t, 1, stats["drop_unroutable"])
	assert.EqualValues(t, 4, stats["get"])
	assert.EqualValues(t, 1, stats["get_no_ack"])
	assert.EqualValues(t, 5, stats["deliver_get"])
	assert.Equal(t, details{Rate: 2.5}, stats["deliver_get_details"])
	assert.EqualValues(t, 4, stats["ack"])
	assert.Equal(t, details{Rate: 2}, stats["ack_details"])
	assert.Equal(t, details{Rate: 2.5}, dr["messages_details"]) // 0 -> 5 in 2 s

	qs, qdr, ok := s.rates.queue(q)
	require.True(t, ok)
	assert.EqualValues(t, 10, qs["publish"])
	assert.Equal(t, details{Rate: 5}, qs["publish_details"])
	assert.NotContains(t, qs, "drop_unroutable")
	assert.Equal(t, details{Rate: 2.5}, qdr["messages_ready_details"])

	// A deleted queue's share stays in the node totals.
	_, err = v.DeleteQueue("q", false, false, nil)
	require.NoError(t, err)
	s.rates.take()
	stats, _ = s.rates.overview()
	assert.EqualValues(t, 4, stats["ack"])
	assert.Equal(t, details{}, stats["ack_details"])
}
