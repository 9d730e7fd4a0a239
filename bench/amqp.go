package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// The load clients AMQPConfig.Client names.
const (
	ClientNative  = "native"
	ClientAMQP091 = "amqp091"
)

// minBody is the smallest body: it carries the send time.
const minBody = 8

// AMQPConfig is the AMQP throughput scenario, in the spirit of RabbitMQ's
// PerfTest.
type AMQPConfig struct {
	URI        string        `json:"-"`
	Client     string        `json:"client"`
	Producers  int           `json:"producers"`
	Consumers  int           `json:"consumers"`
	Size       int           `json:"size"`
	AutoAck    bool          `json:"autoack"`
	AckEvery   int           `json:"ack_every,omitempty"`
	Prefetch   int           `json:"prefetch,omitempty"`
	Persistent bool          `json:"persistent,omitempty"`
	Confirm    int           `json:"confirm,omitempty"` // window; 0: no confirms
	Tx         int           `json:"tx,omitempty"`      // publishes per transaction (tx.select, tx.commit); 0: none
	QueueArgs  string        `json:"queue_args,omitempty"`
	Queues     int           `json:"queues"`         // > 1: fanout exchange to this many queues
	Rate       float64       `json:"rate,omitempty"` // msg/s for all producers; 0: unlimited
	Duration   time.Duration `json:"-"`
	Warmup     time.Duration `json:"-"`
	BrokerPID  int           `json:"-"`
	Broker     string        `json:"-"`
	Scenario   string        `json:"-"`
}

// run is one AMQP scenario run's shared state.
type run struct {
	cfg      AMQPConfig
	exchange string   // where producers publish
	key      string   // their routing key
	queues   []string // what consumers consume
	args     message.Table
	epoch    time.Time // timestamps in bodies are nanoseconds since epoch
	from, to int64     // the measured window, nanoseconds since epoch

	published, delivered, confirmed atomic.Int64

	mu       sync.Mutex
	latency  Histogram // guarded by mu; merged from each consumer
	confirms Histogram // guarded by mu; merged from each producer
	// At a fixed rate, latency splits in two: late, the producer's send
	// time less the scheduled one (merged from each producer), and
	// transit, the receive time less the send time (from each consumer).
	late, transit Histogram // guarded by mu
}

// now returns nanoseconds since the run's epoch (monotonic).
func (r *run) now() int64 { return int64(time.Since(r.epoch)) }

// in reports whether t lies in the measured window.
func (r *run) in(t int64) bool { return t >= r.from && t < r.to }

// stamp writes t into body's first bytes.
func stamp(body []byte, t int64) { binary.LittleEndian.PutUint64(body, uint64(t)) }

// stampOf reads the time a body carries.
func stampOf(body []byte) int64 { return int64(binary.LittleEndian.Uint64(body)) }

// sentBody is the smallest body that also carries, at a fixed rate, the
// time the producer actually sent it (after the scheduled time).
const sentBody = 16

// paced reports whether the run publishes at a fixed rate.
func (r *run) paced() bool { return r.cfg.Rate > 0 }

// stampSent writes the actual send time t of a paced message into body,
// when it is large enough, and records the producer's lateness in late.
func (r *run) stampSent(body []byte, scheduled, t int64, late *Histogram) {
	if !r.paced() || len(body) < sentBody {
		return
	}
	binary.LittleEndian.PutUint64(body[8:], uint64(t))
	if r.in(t) {
		late.Record(t - scheduled)
	}
}

// sentOf reads the send time a paced body carries, or -1.
func (r *run) sentOf(body []byte) int64 {
	if !r.paced() || len(body) < sentBody {
		return -1
	}
	return stampOf(body[8:])
}

// mergeTiming adds a worker's lateness or transit histogram to the run's.
func (r *run) mergeTiming(late, transit *Histogram) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if late != nil {
		r.late.Merge(late)
	}
	if transit != nil {
		r.transit.Merge(transit)
	}
}

// merge adds a worker's histograms to the run's.
func (r *run) merge(lat, conf *Histogram) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if lat != nil {
		r.latency.Merge(lat)
	}
	if conf != nil {
		r.confirms.Merge(conf)
	}
}

// loadClient runs producers and consumers with one client library.
type loadClient interface {
	// produce publishes until ctx ends.
	produce(ctx context.Context, r *run) error
	// consume subscribes to queues, calls ready once consuming, and
	// consumes until ctx ends.
	consume(ctx context.Context, r *run, queues []string, ready func()) error
}

// ParseQueueArgs parses "k=v,k=v" queue arguments; integer values become
// int64, true/false booleans, anything else a string.
func ParseQueueArgs(s string) (message.Table, error) {
	var t message.Table
	for kv := range strings.SplitSeq(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("bench: queue argument %q: want key=value", kv)
		}
		var val any = v
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			val = n
		} else if b, err := strconv.ParseBool(v); err == nil {
			val = b
		}
		t = append(t, message.Field{Key: k, Value: val})
	}
	return t, nil
}

// normalize fills defaults and checks cfg.
func (cfg *AMQPConfig) normalize() error {
	cfg.Size = max(cfg.Size, minBody)
	cfg.Queues = max(cfg.Queues, 1)
	cfg.Producers = max(cfg.Producers, 0)
	cfg.Consumers = max(cfg.Consumers, 0)
	if cfg.AckEvery <= 0 {
		cfg.AckEvery = 1
	}
	if cfg.Prefetch > 0 {
		cfg.AckEvery = min(cfg.AckEvery, cfg.Prefetch)
	}
	if cfg.Duration <= 0 {
		return errors.New("bench: duration must be positive")
	}
	switch cfg.Client {
	case ClientNative, ClientAMQP091:
	default:
		return fmt.Errorf("bench: unknown client %q (want native or amqp091)", cfg.Client)
	}
	if cfg.Tx > 0 && cfg.Confirm > 0 {
		return errors.New("bench: --tx and --confirm exclude each other (a channel is in one mode)")
	}
	if cfg.Tx > 0 && cfg.Client != ClientAMQP091 {
		return errors.New("bench: --tx needs --client amqp091")
	}
	return nil
}

// RunAMQP runs the AMQP throughput scenario once and returns its result.
func RunAMQP(ctx context.Context, cfg AMQPConfig) (*Result, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	args, err := ParseQueueArgs(cfg.QueueArgs)
	if err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, args: args, epoch: time.Now()}
	var lc loadClient = nativeClient{}
	if cfg.Client == ClientAMQP091 {
		lc = amqp091Client{}
	}
	setup, err := DialNative(cfg.URI, 10*time.Second)
	if err != nil {
		return nil, err
	}
	defer setup.Close()
	if err := r.declare(setup); err != nil {
		return nil, err
	}
	defer r.teardown(setup)
	res, err := r.execute(ctx, lc)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// declare creates the run's queues (and fanout exchange) on channel 1.
func (r *run) declare(c *NativeConn) error {
	if err := c.OpenChannel(1); err != nil {
		return err
	}
	id := fmt.Sprintf("bench-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9)
	durable := r.cfg.Persistent
	for i := range r.cfg.Queues {
		q := fmt.Sprintf("%s-%d", id, i)
		_, err := c.Call(1, &amqp091.QueueDeclare{Queue: q, Durable: durable, Arguments: r.args}, &amqp091.QueueDeclareOk{})
		if err != nil {
			return fmt.Errorf("bench: declare queue %s: %w", q, err)
		}
		r.queues = append(r.queues, q)
	}
	if r.cfg.Queues == 1 {
		r.key = r.queues[0]
		return nil
	}
	r.exchange = id
	_, err := c.Call(1, &amqp091.ExchangeDeclare{Exchange: id, Type: "fanout", Durable: durable, AutoDelete: true}, &amqp091.ExchangeDeclareOk{})
	if err != nil {
		return fmt.Errorf("bench: declare exchange %s: %w", id, err)
	}
	for _, q := range r.queues {
		if _, err := c.Call(1, &amqp091.QueueBind{Queue: q, Exchange: id}, &amqp091.QueueBindOk{}); err != nil {
			return fmt.Errorf("bench: bind %s: %w", q, err)
		}
	}
	return nil
}

// teardown deletes what declare created.
func (r *run) teardown(c *NativeConn) {
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	for _, q := range r.queues {
		c.Call(1, &amqp091.QueueDelete{Queue: q}, &amqp091.QueueDeleteOk{})
	}
	if r.exchange != "" {
		c.Call(1, &amqp091.ExchangeDelete{Exchange: r.exchange}, &amqp091.ExchangeDeleteOk{})
	}
}
