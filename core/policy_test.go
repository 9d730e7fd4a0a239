package core

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/route"
	"github.com/junctionmq/junction/persist"
	"github.com/stretchr/testify/require"
)

// openClockBroker is openBroker on a manual clock.
func openClockBroker(t *testing.T, dir string, clock queue.Clock) (*Broker, *persist.DB) {
	t.Helper()
	st, err := persist.Open(dir, persist.Options{GCInterval: -1})
	require.NoError(t, err)
	b, err := Open(Config{Store: st, Clock: clock, Auth: auth.Options{KeyFile: filepath.Join(dir, "auth.key")}})
	require.NoError(t, err)
	return b, st
}

// publishConfirm publishes a transient message by the default exchange and
// returns its confirm.
func publishConfirm(t *testing.T, v *Vhost, queueName, body string) bool {
	t.Helper()
	acked := make(chan bool, 1)
	routed, err := v.Publish(msg("", queueName, body, false), func(ack bool) { acked <- ack })
	require.NoError(t, err)
	require.True(t, routed)
	return <-acked
}

// getAll gets every ready message of q with auto-ack and returns the bodies.
func getAll(q *queue.Queue) []string {
	out := []string{}
	for d, ok := q.Get(true); ok; d, ok = q.Get(true) {
		out = append(out, string(d.Msg.Body))
	}
	return out
}

func policy(name, pattern, applyTo string, prio int, def map[string]any) auth.Policy {
	return auth.Policy{Vhost: "/", Name: name, Pattern: pattern, ApplyTo: applyTo, Priority: prio, Definition: def}
}

func TestPolicyChangesApplyToExistingQueues(t *testing.T) {
	tests := []struct {
		name     string
		declared message.Table
		policies []auth.Policy // put in order, after the queue holds a, b, c
		operator []auth.Policy
		clear    []string // policies deleted after
		ready    []string // what the queue holds then
		pub      bool     // a fourth publish is confirmed
		maxLen   int64
	}{
		{"max-length caps at once (drop-head)", nil,
			[]auth.Policy{policy("cap", "^q$", "queues", 0, map[string]any{"max-length": 1})}, nil, nil,
			[]string{"c"}, true, 1},
		{"reject-publish refuses new", nil,
			[]auth.Policy{policy("cap", "^q$", "queues", 0, map[string]any{"max-length": 2, "overflow": "reject-publish"})}, nil, nil,
			[]string{"a", "b", "c"}, false, 2}, // the excess stays, as in RabbitMQ
		{"declared lower max-length beats the policy",
			message.Table{{Key: "x-max-length", Value: int32(2)}},
			[]auth.Policy{policy("cap", ".*", "all", 0, map[string]any{"max-length": 5})}, nil, nil,
			[]string{"b", "c"}, true, 2},
		{"highest priority wins", nil,
			[]auth.Policy{policy("high", "^q", "queues", 2, map[string]any{"max-length": 2}),
				policy("low", ".*", "queues", 1, map[string]any{"max-length": 1})}, nil, nil,
			[]string{"b", "c"}, true, 2},
		{"clearing the policy lifts the limit", nil,
			[]auth.Policy{policy("cap", "^q$", "queues", 0, map[string]any{"max-length": 1, "overflow": "reject-publish"})}, nil,
			[]string{"cap"}, []string{"a", "b", "c"}, true, queue.Unlimited},
		{"operator policy's lower value wins", nil,
			[]auth.Policy{policy("cap", "^q$", "queues", 0, map[string]any{"max-length": 5})},
			[]auth.Policy{policy("op", ".*", "queues", 0, map[string]any{"max-length": 1})}, nil,
			[]string{"c"}, true, 1},
		{"policy applying to exchanges only", nil,
			[]auth.Policy{policy("cap", ".*", "exchanges", 0, map[string]any{"max-length": 1})}, nil, nil,
			[]string{"a", "b", "c"}, true, queue.Unlimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, st := openBroker(t, "")
			defer closeBroker(t, b, st)
			v, _ := b.Vhost("/")
			q, _, err := v.DeclareQueue(QueueDecl{Name: "q", Durable: true, Args: tt.declared})
			require.NoError(t, err)
			for _, body := range []string{"a", "b", "c"} {
				require.True(t, publishConfirm(t, v, "q", body))
			}
			for _, p := range tt.policies {
				require.NoError(t, b.PutPolicy(p))
			}
			for _, p := range tt.operator {
				require.NoError(t, b.PutOperatorPolicy(p))
			}
			for _, name := range tt.clear {
				require.NoError(t, b.DeletePolicy("/", name))
			}
			require.Equal(t, tt.maxLen, q.Config().Args.MaxLength)
			require.Equal(t, len(tt.ready), q.Stats().Ready)
			require.Equal(t, tt.pub, publishConfirm(t, v, "q", "d"))
			want := tt.ready
			if tt.pub {
				want = append(want, "d")
				if tt.maxLen >= 0 && int64(len(want)) > tt.maxLen {
					want = want[1:]
				}
			}
			require.Equal(t, want, getAll(q))
			// The declared arguments stay what a redeclare is compared with.
			_, _, err = v.DeclareQueue(QueueDecl{Name: "q", Durable: true, Args: tt.declared})
			require.NoError(t, err)
		})
	}
}

func TestPolicyTTLAndDeadLetter(t *testing.T) {
	clock := queue.NewManualClock(time.Unix(1_700_000_000, 0))
	b, st := openClockBroker(t, t.TempDir(), clock)
	defer closeBroker(t, b, st)
	v, _ := b.Vhost("/")
	q, _, err := v.DeclareQueue(QueueDecl{Name: "work"})
	require.NoError(t, err)
	dlq, _, err := v.DeclareQueue(QueueDecl{Name: "dlq"})
	require.NoError(t, err)

	require.NoError(t, b.PutPolicy(policy("ttl", "^work$", "queues", 0, map[string]any{
		"message-ttl": 1000, "dead-letter-exchange": "", "dead-letter-routing-key": "dlq"})))
	name, def := v.QueuePolicy("work")
	require.Equal(t, "ttl", name)
	require.Equal(t, int64(1000), def["message-ttl"])
	require.True(t, publishConfirm(t, v, "work", "old"))
	clock.Advance(1500 * time.Millisecond)
	require.Equal(t, 0, q.Stats().Ready, "expired by the policy's TTL")
	require.Eventually(t, func() bool { return dlq.Stats().Ready == 1 }, 5*time.Second, time.Millisecond)
	d, ok := dlq.Get(true)
	require.True(t, ok)
	reason, _ := d.Msg.Props.Headers.Get("x-first-death-reason")
	require.Equal(t, "expired", reason)

	// Rejected without requeue: dead-lettered by the policy's DLX.
	require.True(t, publishConfirm(t, v, "work", "bad"))
	d, ok = q.Get(false)
	require.True(t, ok)
	require.NoError(t, q.Nack(d.Seq, false))
	require.Eventually(t, func() bool { return dlq.Stats().Ready == 1 }, 5*time.Second, time.Millisecond)

	// Cleared: no TTL, no dead-lettering.
	require.NoError(t, b.DeletePolicy("/", "ttl"))
	name, def = v.QueuePolicy("work")
	require.Equal(t, "", name)
	require.Nil(t, def)
	require.True(t, publishConfirm(t, v, "work", "kept"))
	clock.Advance(time.Hour)
	require.Equal(t, []string{"kept"}, getAll(q))
}

func TestPolicyAlternateExchange(t *testing.T) {
	b, st := openBroker(t, "")
	defer closeBroker(t, b, st)
	v, _ := b.Vhost("/")
	require.NoError(t, v.DeclareExchange(route.Exchange{Name: "orders", Kind: route.Direct, Durable: true}, false))
	require.NoError(t, v.DeclareExchange(route.Exchange{Name: "unrouted", Kind: route.Fanout, Durable: true}, false))
	_, _, err := v.DeclareQueue(QueueDecl{Name: "lost", Durable: true})
	require.NoError(t, err)
	require.NoError(t, v.Bind(route.Binding{Source: "unrouted", Dest: route.Dest{Kind: route.DestQueue, Name: "lost"}}))

	routed, err := v.Publish(msg("orders", "nowhere", "x", false), nil)
	require.NoError(t, err)
	require.False(t, routed)
	require.NoError(t, b.PutPolicy(policy("ae", "^orders$", "exchanges", 0, map[string]any{"alternate-exchange": "unrouted"})))
	routed, err = v.Publish(msg("orders", "nowhere", "x", false), nil)
	require.NoError(t, err)
	require.True(t, routed, "routed to the policy's alternate exchange")
	name, def := v.ExchangePolicy("orders")
	require.Equal(t, "ae", name)
	require.Equal(t, "unrouted", def["alternate-exchange"])
	x, _ := v.Exchange("orders")
	require.Empty(t, x.Args, "declared arguments unchanged")

	// An exchange declared later gets it too; a redeclare is equivalent.
	require.NoError(t, b.PutPolicy(policy("ae", "^orders", "exchanges", 0, map[string]any{"alternate-exchange": "unrouted"})))
	require.NoError(t, v.DeclareExchange(route.Exchange{Name: "orders.eu", Kind: route.Topic}, false))
	routed, err = v.Publish(msg("orders.eu", "nowhere", "y", false), nil)
	require.NoError(t, err)
	require.True(t, routed)
	require.NoError(t, v.DeclareExchange(route.Exchange{Name: "orders", Kind: route.Direct, Durable: true}, false))

	require.NoError(t, b.DeletePolicy("/", "ae"))
	routed, err = v.Publish(msg("orders", "nowhere", "z", false), nil)
	require.NoError(t, err)
	require.False(t, routed, "cleared")
}

func TestPolicySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	b, st := openBroker(t, dir)
	v, _ := b.Vhost("/")
	q, _, err := v.DeclareQueue(QueueDecl{Name: "q", Durable: true})
	require.NoError(t, err)
	require.NoError(t, v.DeclareExchange(route.Exchange{Name: "x", Kind: route.Direct, Durable: true}, false))
	require.NoError(t, b.PutPolicy(policy("cap", "^q$", "queues", 0, map[string]any{"max-length": 2})))
	require.NoError(t, b.PutPolicy(policy("ae", "^(x|amq\\.direct)$", "exchanges", 0, map[string]any{"alternate-exchange": "amq.fanout"})))
	require.Equal(t, int64(2), q.Config().Args.MaxLength)
	closeBroker(t, b, st)

	b, st = openBroker(t, dir)
	defer closeBroker(t, b, st)
	v, _ = b.Vhost("/")
	q, err = v.Queue("q")
	require.NoError(t, err)
	require.Equal(t, int64(2), q.Config().Args.MaxLength)
	name, _ := v.QueuePolicy("q")
	require.Equal(t, "cap", name)
	require.NoError(t, v.Bind(route.Binding{Source: "amq.fanout", Dest: route.Dest{Kind: route.DestQueue, Name: "q"}}))
	for _, x := range []string{"x", "amq.direct"} {
		routed, err := v.Publish(msg(x, "nowhere", x, true), nil)
		require.NoError(t, err)
		require.True(t, routed, "%s: alternate exchange from the policy", x)
	}
	require.True(t, publishConfirm(t, v, "q", "last"))
	require.Equal(t, []string{"amq.direct", "last"}, getAll(q), "capped at 2 by the recovered policy")
	// The stored definition keeps the declared (empty) arguments.
	_, _, err = v.DeclareQueue(QueueDecl{Name: "q", Durable: true})
	require.NoError(t, err)
}

func TestImportDefinitionsAppliesPolicies(t *testing.T) {
	b, st := openBroker(t, "")
	defer closeBroker(t, b, st)
	v, _ := b.Vhost("/")
	q, _, err := v.DeclareQueue(QueueDecl{Name: "imp"})
	require.NoError(t, err)
	_, err = b.ImportDefinitions(&auth.Definitions{Policies: []auth.PolicyDef{{Vhost: "/", Name: "cap",
		Pattern: "^imp$", ApplyTo: "queues", Definition: map[string]any{"max-length": float64(3)}}}})
	require.NoError(t, err)
	require.Equal(t, int64(3), q.Config().Args.MaxLength)
}

func TestPolicyChangesRaceWithDeclares(t *testing.T) {
	b, st := openBroker(t, "")
	defer closeBroker(t, b, st)
	v, _ := b.Vhost("/")
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 20 {
			if err := b.PutPolicy(policy("cap", ".*", "all", 0, map[string]any{"max-length": i + 1})); err != nil {
				t.Error(err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 20 {
			if _, _, err := v.DeclareQueue(QueueDecl{Name: fmt.Sprintf("q%d", i)}); err != nil {
				t.Error(err)
			}
			if err := v.DeclareExchange(route.Exchange{Name: fmt.Sprintf("x%d", i), Kind: route.Fanout}, false); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	for _, q := range v.Queues() {
		require.Equal(t, int64(20), q.Config().Args.MaxLength, q.Name())
	}
}
