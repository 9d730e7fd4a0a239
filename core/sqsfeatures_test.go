package core

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/stretchr/testify/require"
)

// publishWait publishes persistent messages to a queue by the default
// exchange and waits until they are durable.
func publishWait(t *testing.T, v *Vhost, q string, bodies ...string) {
	t.Helper()
	var wg sync.WaitGroup
	for _, b := range bodies {
		wg.Add(1)
		routed, err := v.Publish(msg("", q, b, true), func(ok bool) {
			if !ok {
				t.Error("nacked")
			}
			wg.Done()
		})
		require.NoError(t, err)
		require.True(t, routed)
	}
	wg.Wait()
}

func TestSetQueueOptionsSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	b, st := openBroker(t, dir)
	v, _ := b.Vhost("/")
	args := message.Table{{Key: "x-max-priority", Value: int32(3)}, {Key: "x-custom", Value: "kept"}}
	_, _, err := v.DeclareQueue(QueueDecl{Name: "q", Durable: true, Args: args, Options: queue.Options{FIFO: true}})
	require.NoError(t, err)
	_, _, err = v.DeclareQueue(QueueDecl{Name: "transient"})
	require.NoError(t, err)
	o := queue.Options{FIFO: true, DefaultDelay: time.Hour, Retention: 2 * time.Hour, MaxReceiveCount: 3,
		RedriveTarget: "dlq", DedupWindow: 5 * time.Minute}

	tests := []struct {
		name  string
		queue string
		opts  queue.Options
		want  error
	}{
		{"durable queue", "q", o, nil},
		{"transient queue", "transient", queue.Options{DefaultDelay: time.Second}, nil},
		{"FIFO cannot change", "q", queue.Options{}, queue.ErrFIFOChange},
		{"unknown queue", "nope", o, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.SetQueueOptions(tt.queue, tt.opts)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				return
			}
			require.NoError(t, err)
			q, _ := v.Queue(tt.queue)
			require.Equal(t, tt.opts, q.Config().Options)
		})
	}
	// Published over the core (as AMQP does), the message gets the queue's delay.
	publishWait(t, v, "q", "delayed")
	q, _ := v.Queue("q")
	require.Equal(t, 1, q.Stats().Delayed)
	closeBroker(t, b, st)

	b, st = openBroker(t, dir)
	defer closeBroker(t, b, st)
	v, _ = b.Vhost("/")
	q, err = v.Queue("q")
	require.NoError(t, err)
	require.Equal(t, o, q.Config().Options)
	require.Equal(t, uint8(3), q.Config().Args.MaxPriority)
	require.Equal(t, 1, q.Stats().Delayed)
	// The declared arguments were kept: an equal redeclare is accepted.
	_, _, err = v.DeclareQueue(QueueDecl{Name: "q", Durable: true, Args: args})
	require.NoError(t, err)
}

func TestLeaseStateSurvivesRestart(t *testing.T) {
	tests := []struct {
		name  string
		purge bool
	}{
		{"first receive time kept", false},
		{"PurgeAll drops in-flight messages from the store", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			b, st := openBroker(t, dir)
			v, _ := b.Vhost("/")
			_, _, err := v.DeclareQueue(QueueDecl{Name: "q", Durable: true})
			require.NoError(t, err)
			publishWait(t, v, "q", "leased", "ready")
			q, _ := v.Queue("q")
			ds := q.Lease(1, time.Millisecond)
			require.Len(t, ds, 1)
			first := ds[0].FirstReceived
			require.NotZero(t, first)
			if tt.purge {
				n, err := q.PurgeAll()
				require.NoError(t, err)
				require.Equal(t, 2, n)
				require.ErrorIs(t, q.AckLease(ds[0].Seq, 1), queue.ErrUnknownSeq)
			}
			closeBroker(t, b, st)

			b, st = openBroker(t, dir)
			defer closeBroker(t, b, st)
			v, _ = b.Vhost("/")
			q, _ = v.Queue("q")
			time.Sleep(2 * time.Millisecond) // the lease runs out
			got := q.Lease(10, time.Minute)
			if tt.purge {
				require.Empty(t, got)
				return
			}
			require.Len(t, got, 2)
			require.Equal(t, "leased", string(got[0].Msg.Body))
			require.Equal(t, first, got[0].FirstReceived)
			require.Equal(t, uint32(2), got[0].DeliveryCount)
			require.Greater(t, got[1].FirstReceived, first)
			require.NoError(t, q.AckLease(got[0].Seq, 2))
			require.True(t, errors.Is(q.AckLease(got[1].Seq, 7), queue.ErrStaleDelivery))
		})
	}
}
