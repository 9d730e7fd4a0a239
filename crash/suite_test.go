package crash_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// face is one protocol's producer and consumer pair.
type face interface {
	produce(ctx context.Context)
	consume(ctx context.Context)
}

// suite is one crash run: the broker, the faces and what they recorded.
type suite struct {
	b       *broker
	amqp    *amqpFace
	mqtt    *mqttFace
	sqs     *sqsFace
	sns     *sqsFace
	kinesis *kinesisFace

	crashes     int // restarts, graceful ones included
	graceful    int // restarts after SIGTERM rather than SIGKILL
	maxRecovery time.Duration
}

func crashCount(t *testing.T) int {
	s := os.Getenv("JUNCTION_CRASHES")
	if s == "" {
		return 4 // the fourth restart is a graceful one
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("JUNCTION_CRASHES=%q: want a positive number", s)
	}
	return n
}

// TestCrashSuite publishes and consumes through every face while the
// broker is killed with SIGKILL at random moments and restarted on the
// same data directory; then it checks that nothing confirmed was lost.
// Every fourth restart is a graceful stop (SIGTERM) under the same load,
// which must complete within gracefulBound and lose nothing either.
// JUNCTION_CRASHES sets the number of kills (4 by default, one of them graceful; `make crash`
// runs 50). JUNCTION_BIN names a prebuilt binary.
func TestCrashSuite(t *testing.T) {
	if testing.Short() && os.Getenv("JUNCTION_CRASHES") == "" {
		t.Skip("kills a broker process; set JUNCTION_CRASHES or drop -short")
	}
	n := crashCount(t)
	tmp := t.TempDir()
	bin, err := buildBinary(tmp)
	if err != nil {
		t.Fatal(err)
	}
	s := newSuite(&broker{bin: bin, dir: tmp + "/data"})
	t.Cleanup(s.b.kill)
	if _, err := s.b.start(); err != nil {
		t.Fatal(err)
	}
	if err := s.setup(); err != nil {
		t.Fatalf("setup: %v\n%s", err, s.b.stderr())
	}
	s.run(t, n)
	s.report(t)
}

func newSuite(b *broker) *suite {
	c := clients{b}
	sqsL, snsL := newLedger("sqs"), newLedger("sns")
	sqsL.ackDurable, snsL.ackDurable = true, true
	return &suite{
		b:       b,
		amqp:    &amqpFace{b: b, l: newLedger("amqp")},
		mqtt:    &mqttFace{b: b, l: newLedger("mqtt")},
		sqs:     &sqsFace{c: c, l: sqsL, queue: sqsQueue, prefix: "s"},
		sns:     &sqsFace{c: c, l: snsL, queue: snsQueue, prefix: "n", viaSNS: true},
		kinesis: &kinesisFace{c: c, l: newLedger("kinesis"), seq: map[int]shardSeq{}},
	}
}

func (s *suite) faces() []face { return []face{s.amqp, s.mqtt, s.sqs, s.sns, s.kinesis} }

func (s *suite) ledgers() []*ledger {
	return []*ledger{s.amqp.l, s.mqtt.l, s.sqs.l, s.sns.l}
}

// setup declares what every face needs, retrying while the broker settles.
func (s *suite) setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	steps := []func() error{
		func() error {
			c, _, err := s.amqp.dial()
			if err == nil {
				c.Close()
			}
			return err
		},
		s.mqtt.subscribeOnce,
		func() error { return setupSQS(ctx, clients{s.b}) },
		func() error { return s.kinesis.setup(ctx) },
	}
	for _, step := range steps {
		var err error
		for err = step(); err != nil && ctx.Err() == nil; err = step() {
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// run drives load through n crashes, then drains every queue.
func (s *suite) run(t *testing.T, n int) {
	prodCtx, stopProd := context.WithCancel(context.Background())
	consCtx, stopCons := context.WithCancel(context.Background())
	var prod, cons sync.WaitGroup
	for _, f := range s.faces() {
		prod.Go(func() { f.produce(prodCtx) })
		cons.Go(func() { f.consume(consCtx) })
	}
	for i := 0; i < n; i++ {
		time.Sleep(time.Duration(300+rand.IntN(1700)) * time.Millisecond)
		if i%4 == 3 {
			// Every fourth restart is graceful, under the same load:
			// it must finish on its own and lose nothing either.
			if err := s.b.stop(); err != nil {
				stopProd()
				stopCons()
				t.Fatalf("graceful stop %d: %v", i+1, err)
			}
			s.graceful++
		} else {
			s.b.kill()
		}
		took, err := s.b.start()
		if err != nil {
			stopProd()
			stopCons()
			t.Fatalf("crash %d: %v", i+1, err)
		}
		s.crashes++
		s.maxRecovery = max(s.maxRecovery, took)
	}
	time.Sleep(500 * time.Millisecond) // some load after the last restart
	stopProd()
	prod.Wait()
	s.drain(t)
	stopCons()
	cons.Wait()
}

// drain waits until every confirmed id has been delivered (or 60 s pass),
// then until deliveries go quiet, so late redeliveries are counted.
func (s *suite) drain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, l := range s.ledgers() {
		for l.missing() > 0 && ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, l := range s.ledgers() {
		quiet(ctx, l, 3*time.Second) // longer than the SQS visibility timeout
	}
	if ctx.Err() != nil {
		t.Log("drain timed out")
	}
}

// quiet waits until l has seen no delivery for d.
func quiet(ctx context.Context, l *ledger, d time.Duration) {
	for ctx.Err() == nil {
		idle := time.Since(time.Unix(0, l.lastSeen.Load()))
		if idle >= d {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(d - idle):
		}
	}
}

// report prints one line per face and fails on any loss, order violation,
// sequence-number mismatch or slow recovery.
func (s *suite) report(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	final := s.kinesis.verify(ctx)
	final.extra = s.kinesis.l.extra
	final.extra["live-reads"] = int64(len(s.kinesis.l.seen))
	vs := make([]verdict, 0, 5)
	for _, l := range append(s.ledgers(), final) {
		vs = append(vs, l.verdict())
	}
	for _, v := range vs {
		fmt.Println(v.line(s.crashes, s.maxRecovery))
	}
	fmt.Printf("restarts=%d: %d after SIGKILL, %d after a graceful SIGTERM under load\n",
		s.crashes, s.crashes-s.graceful, s.graceful)
	for _, v := range vs {
		if v.confirmed == 0 {
			t.Errorf("%s: nothing confirmed", v.name)
		}
		if v.lost > 0 {
			t.Errorf("%s: %d confirmed ids lost, e.g. %v", v.name, v.lost, v.lostIDs)
		}
		if v.orderN > 0 {
			t.Errorf("%s: %d order violations, e.g. %v", v.name, v.orderN, v.orderBad)
		}
		if v.ackDurable && v.backAcked > 0 {
			t.Errorf("%s: %d deliveries of messages whose delete had succeeded", v.name, v.backAcked)
		}
		if v.extra["seq-mismatch"] > 0 {
			t.Errorf("%s: %d records read under another sequence number than confirmed", v.name, v.extra["seq-mismatch"])
		}
	}
	if s.maxRecovery > recoveryBound {
		t.Errorf("recovery took %s, bound %s", s.maxRecovery, recoveryBound)
	}
}
