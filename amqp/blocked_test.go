package amqp_test

import (
	"sync/atomic"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"

	"github.com/junctionmq/junction/alarm"
	"github.com/junctionmq/junction/amqp"
)

// alarmSources are the injectable sources of a test's alarm monitor.
type alarmSources struct {
	used atomic.Uint64
	low  atomic.Bool
}

func startAlarmServer(t *testing.T) (*testServer, *alarm.Monitor, *alarmSources) {
	t.Helper()
	src := &alarmSources{}
	m := alarm.New(alarm.Config{MemoryLimit: 100, MemoryUsed: src.used.Load, DiskLow: src.low.Load})
	return startServer(t, amqp.Config{Alarms: m}), m, src
}

func wantBlocking(t *testing.T, ch <-chan rmq.Blocking, want rmq.Blocking) {
	t.Helper()
	select {
	case b := <-ch:
		if b != want {
			t.Fatalf("got %+v, want %+v", b, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no %+v", want)
	}
}

func publishBody(t *testing.T, ch *rmq.Channel, q, body string) {
	t.Helper()
	if err := ch.Publish("", q, false, false, rmq.Publishing{Body: []byte(body)}); err != nil {
		t.Fatal(err)
	}
}

func TestAlarmBlocksPublishers(t *testing.T) {
	ts, m, src := startAlarmServer(t)
	pub, pch := ts.channel(t)
	blocked := pub.NotifyBlocked(make(chan rmq.Blocking, 4))
	if _, err := pch.QueueDeclare("q", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	publishBody(t, pch, "q", "before")
	_, cch := ts.channel(t)
	if err := cch.Qos(10, 0, false); err != nil {
		t.Fatal(err)
	}
	ds, err := cch.Consume("q", "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := recv(t, ds)
	fresh, fch := ts.channel(t) // has not published yet
	freshBlocked := fresh.NotifyBlocked(make(chan rmq.Blocking, 4))

	src.used.Store(200)
	m.Check()
	wantBlocking(t, blocked, rmq.Blocking{Active: true, Reason: "low on memory"})
	publishBody(t, pch, "q", "during")
	publishBody(t, fch, "q", "first") // its first publish blocks it too
	wantBlocking(t, freshBlocked, rmq.Blocking{Active: true, Reason: "low on memory"})

	// Consumers keep draining: the consumer's ack is read and settled.
	if err := before.Ack(false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, unacked := ts.depth(t, "q"); return unacked == 0 })
	noRecv(t, ds, 100*time.Millisecond)
	if ready, _ := ts.depth(t, "q"); ready != 0 {
		t.Fatalf("%d messages got through during the alarm", ready)
	}

	src.used.Store(0)
	m.Check()
	wantBlocking(t, blocked, rmq.Blocking{Active: false})
	wantBlocking(t, freshBlocked, rmq.Blocking{Active: false})
	got := map[string]bool{}
	for range 2 {
		d := recv(t, ds)
		got[string(d.Body)] = true
		if err := d.Ack(false); err != nil {
			t.Fatal(err)
		}
	}
	if !got["during"] || !got["first"] {
		t.Fatalf("after the alarm got %v, want during and first", got)
	}
}

func TestAlarmReasons(t *testing.T) {
	ts, m, src := startAlarmServer(t)
	pub, pch := ts.channel(t)
	blocked := pub.NotifyBlocked(make(chan rmq.Blocking, 4))
	publishBody(t, pch, "nowhere", "x")
	tests := []struct {
		name   string
		used   uint64
		low    bool
		reason string
	}{
		{"disk", 0, true, "low on disk space"},
		{"both", 200, true, "low on memory & low on disk space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src.used.Store(tt.used)
			src.low.Store(tt.low)
			m.Check()
			wantBlocking(t, blocked, rmq.Blocking{Active: true, Reason: tt.reason})
			src.used.Store(0)
			src.low.Store(false)
			m.Check()
			wantBlocking(t, blocked, rmq.Blocking{Active: false})
		})
	}
}

func TestAlarmShutdownWhileBlocked(t *testing.T) {
	ts, m, src := startAlarmServer(t)
	pub, pch := ts.channel(t)
	blocked := pub.NotifyBlocked(make(chan rmq.Blocking, 4))
	publishBody(t, pch, "nowhere", "x")
	src.low.Store(true)
	m.Check()
	wantBlocking(t, blocked, rmq.Blocking{Active: true, Reason: "low on disk space"})
	publishBody(t, pch, "nowhere", "held")
	closed := pub.NotifyClose(make(chan *rmq.Error, 1))
	if err := ts.srv.CloseConnection(connName(t, ts), "test"); err != nil {
		t.Fatal(err)
	}
	if e := closeErr(t, closed); e.Code != 320 {
		t.Fatalf("got %d, want 320", e.Code)
	}
}

// connName returns the name of the one open connection.
func connName(t *testing.T, ts *testServer) string {
	t.Helper()
	cs := ts.srv.Connections()
	if len(cs) != 1 {
		t.Fatalf("%d connections, want 1", len(cs))
	}
	return cs[0].Name
}
