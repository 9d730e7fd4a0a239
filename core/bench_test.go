package core

import (
	"sync"
	"testing"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/route"
	"github.com/stretchr/testify/require"
)

// acker settles each delivery at once, as a fast consumer with manual acks.
type acker struct {
	mu   sync.Mutex
	seqs []uint64
}

func (a *acker) Deliver(d queue.Delivery) { a.seqs = append(a.seqs, d.Seq) }

// BenchmarkPublishDeliver measures one transient 16 B message through the
// core: publish → route (direct exchange) → enqueue → deliver to a consumer
// → ack. Target: under 1 µs and 0 allocations. The message struct itself is
// the face's allocation (a face decodes each publish into one); here it is
// reused once acked, so the figure is the core's own cost.
func BenchmarkPublishDeliver(b *testing.B) {
	br, st := openBroker(b, "")
	defer closeBroker(b, br, st)
	v, _ := br.Vhost("/")
	q, _, err := v.DeclareQueue(QueueDecl{Name: "bench"})
	require.NoError(b, err)
	require.NoError(b, v.Bind(route.Binding{Source: "amq.direct", Dest: route.Dest{Kind: route.DestQueue, Name: "bench"}, Key: "k"}))
	a := &acker{seqs: make([]uint64, 0, 1)}
	_, err = q.Consume(a, queue.ConsumeOptions{Tag: "c", Limiters: []*queue.Limiter{queue.NewLimiter(100)}})
	require.NoError(b, err)
	m := message.Message{Exchange: "amq.direct", RoutingKey: "k", Body: make([]byte, 16)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Publish(&m, nil); err != nil {
			b.Fatal(err)
		}
		for _, s := range a.seqs {
			_ = q.Ack(s)
		}
		a.seqs = a.seqs[:0]
	}
}

// BenchmarkDurableConfirm measures persistent publishes to a durable queue
// with many in flight, each confirmed by its callback after group commit.
func BenchmarkDurableConfirm(b *testing.B) {
	br, st := openBroker(b, "")
	defer closeBroker(b, br, st)
	v, _ := br.Vhost("/")
	_, _, err := v.DeclareQueue(QueueDecl{Name: "durable", Durable: true})
	require.NoError(b, err)
	body := make([]byte, 16)
	var wg sync.WaitGroup
	done := func(bool) { wg.Done() }
	b.ReportAllocs()
	b.ResetTimer()
	wg.Add(b.N)
	for i := 0; i < b.N; i++ {
		m := &message.Message{RoutingKey: "durable", Body: body}
		m.Props.DeliveryMode = 2
		if _, err := v.Publish(m, done); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
