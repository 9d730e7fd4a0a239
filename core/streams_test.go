package core

import (
	"testing"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/route"
	"github.com/junctionmq/junction/core/stream"
	"github.com/stretchr/testify/require"
)

func TestExchangeFeedsPartitionedStream(t *testing.T) {
	dir := t.TempDir()
	b, st := openBroker(t, dir)
	v, _ := b.Vhost("/")
	ps, err := v.CreatePartitioned("readings", 2, 0)
	require.NoError(t, err)
	require.NoError(t, v.Bind(route.Binding{Source: "amq.topic", Dest: route.Dest{Kind: route.DestStream, Name: "readings"}, Key: "sensor.#"}))
	acks := make(chan bool, 10)
	keys := []string{"sensor.1", "sensor.2", "sensor.3", "sensor.4"}
	for _, k := range keys {
		routed, err := v.Publish(msg("amq.topic", k, "v-"+k, false), func(ack bool) { acks <- ack })
		require.NoError(t, err)
		require.True(t, routed)
	}
	for range keys {
		require.True(t, <-acks)
	}
	// Every record landed in the partition owning MD5(routing key).
	total := 0
	for _, p := range ps.Partitions() {
		recs, _, err := p.Stream().Read(0, 100, 1<<20)
		require.NoError(t, err)
		for _, r := range recs {
			m, err := message.Unmarshal(r.Data)
			require.NoError(t, err)
			want, err := ps.PartitionFor(stream.HashKeyFor(m.RoutingKey))
			require.NoError(t, err)
			require.Equal(t, want.ID(), p.ID())
			require.Equal(t, "v-"+m.RoutingKey, string(m.Body))
			total++
		}
	}
	require.Equal(t, len(keys), total)
	closeBroker(t, b, st)

	// The stream, its records and its binding survive a restart.
	b, st = openBroker(t, dir)
	defer closeBroker(t, b, st)
	v, _ = b.Vhost("/")
	ps, err = v.Partitioned("readings")
	require.NoError(t, err)
	n := 0
	for _, p := range ps.Partitions() {
		first, next := p.Stream().Bounds()
		n += int(next - first)
	}
	require.Equal(t, len(keys), n)
	routed, err := v.Publish(msg("amq.topic", "sensor.9", "x", false), nil)
	require.NoError(t, err)
	require.True(t, routed)
}

func TestPlainStreamSharesQueueNamespace(t *testing.T) {
	b, st := openBroker(t, "")
	defer closeBroker(t, b, st)
	v, _ := b.Vhost("/")
	s, created, err := v.DeclareStream("log", 0, 0)
	require.NoError(t, err)
	require.True(t, created)
	_, _, err = v.DeclareQueue(QueueDecl{Name: "log"})
	require.ErrorIs(t, err, ErrPrecondition)
	done := make(chan bool, 1)
	_, err = v.Publish(msg("", "log", "entry", false), func(ack bool) { done <- ack })
	require.NoError(t, err)
	require.True(t, <-done)
	recs, _, err := s.Read(0, 10, 1<<20)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.NoError(t, v.DeleteStream("log"))
	_, err = v.Stream("log")
	require.ErrorIs(t, err, ErrNotFound)
}
