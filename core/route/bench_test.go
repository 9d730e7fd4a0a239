package route

import (
	"fmt"
	"testing"

	"github.com/junctionmq/junction/core/message"
)

func benchRoute(b *testing.B, tb *Table, exchange string, m *message.Message, want int) {
	out := make([]Target, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		out, _, err = tb.Route(exchange, m, out[:0])
		if err != nil {
			b.Fatal(err)
		}
	}
	if len(out) != want {
		b.Fatalf("routed to %d, want %d", len(out), want)
	}
}

func BenchmarkRouteDirect(b *testing.B) {
	tb := newTestTable(b)
	for i := range 1000 {
		n := fmt.Sprintf("dq%d", i)
		tb.AddDest(q(n))
		bind(b, tb, Binding{Source: "amq.direct", Dest: q(n), Key: n})
	}
	benchRoute(b, tb, "amq.direct", msg("dq500", nil), 1)
}

func BenchmarkRouteDefault(b *testing.B) {
	benchRoute(b, newTestTable(b), "", msg("q3", nil), 1)
}

func BenchmarkRouteFanout10(b *testing.B) {
	tb := newTestTable(b)
	for i := range 10 {
		n := fmt.Sprintf("fq%d", i)
		tb.AddDest(q(n))
		bind(b, tb, Binding{Source: "amq.fanout", Dest: q(n)})
	}
	benchRoute(b, tb, "amq.fanout", msg("", nil), 10)
}

func BenchmarkRouteTopic100k(b *testing.B) {
	tb := newTestTable(b)
	for i := range 50000 {
		n := fmt.Sprintf("tq%d", i)
		tb.AddDest(q(n))
		bind(b, tb, Binding{Source: "amq.topic", Dest: q(n), Key: fmt.Sprintf("sensor.%d.temp", i)})
		bind(b, tb, Binding{Source: "amq.topic", Dest: q(n), Key: fmt.Sprintf("*.%d.#", i)})
	}
	benchRoute(b, tb, "amq.topic", msg("sensor.4242.temp", nil), 1)
}

func BenchmarkRouteHeaders(b *testing.B) {
	tb := newTestTable(b)
	for i := range 10 {
		bind(b, tb, Binding{Source: "amq.match", Dest: q("q1"), Args: message.Table{
			{Key: "x-match", Value: "all"}, {Key: "type", Value: "order"}, {Key: "region", Value: fmt.Sprint(i)}}})
	}
	benchRoute(b, tb, "amq.match", msg("", message.Table{{Key: "type", Value: "order"}, {Key: "region", Value: "7"}}), 1)
}

func BenchmarkRouteE2EWithCC(b *testing.B) {
	tb := newTestTable(b)
	declare(b, tb, "in", Topic)
	bind(b, tb, Binding{Source: "in", Dest: ex("amq.direct"), Key: "#"})
	bind(b, tb, Binding{Source: "amq.direct", Dest: q("q1"), Key: "a"})
	bind(b, tb, Binding{Source: "amq.direct", Dest: q("q2"), Key: "b"})
	benchRoute(b, tb, "in", msg("a", message.Table{{Key: "CC", Value: []any{"b"}}}), 2)
}

func TestRouteAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	tb := newTestTable(t)
	declare(t, tb, "in", Topic)
	bind(t, tb, Binding{Source: "in", Dest: ex("amq.fanout"), Key: "#"})
	for i := range 30 { // past linearMax: the map index is used
		n := fmt.Sprintf("fq%d", i)
		tb.AddDest(q(n))
		bind(t, tb, Binding{Source: "amq.fanout", Dest: q(n)})
		bind(t, tb, Binding{Source: "in", Dest: q(n), Key: "a.*"})
	}
	m := msg("a.b", message.Table{{Key: "BCC", Value: []any{"a.c"}}})
	out := make([]Target, 0, 64)
	tb.Route("in", m, out) // warm the pool
	n := testing.AllocsPerRun(200, func() { out, _, _ = tb.Route("in", m, out[:0]) })
	if n != 0 || len(out) != 30 {
		t.Fatalf("allocs %v, targets %d", n, len(out))
	}
}
