package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// MQTTConfig is the MQTT throughput scenario: Publishers publish to one
// topic that each of Subscribers subscribes to, so every message is
// delivered Subscribers times (fan-out). Clients are
// github.com/eclipse/paho.mqtt.golang speaking MQTT 3.1.1.
type MQTTConfig struct {
	URI         string        `json:"-"` // tcp://[user:pass@]host:port
	Publishers  int           `json:"publishers"`
	Subscribers int           `json:"subscribers"`
	QoS         int           `json:"qos"`
	Size        int           `json:"size"`
	Rate        float64       `json:"rate,omitempty"` // msg/s for all publishers; 0: unlimited
	InFlight    int           `json:"inflight"`       // unacknowledged QoS 1/2 publishes per publisher
	Duration    time.Duration `json:"-"`
	Warmup      time.Duration `json:"-"`
	Drain       time.Duration `json:"-"` // how long to wait for stragglers before counting losses
	BrokerPID   int           `json:"-"`
	Broker      string        `json:"-"`
	Scenario    string        `json:"-"`
}

// mqttMinBody is the smallest MQTT body: send time and publisher index.
const mqttMinBody = 12

// mqttRun is one MQTT run's shared state. Counters named total* cover the
// whole run (warm-up and drain included) and serve the loss count; the
// others cover the measured window.
type mqttRun struct {
	cfg      MQTTConfig
	topic    string
	epoch    time.Time
	from, to int64

	published, delivered          atomic.Int64 // in the window
	totalAcked, totalDelivered    atomic.Int64 // whole run
	mu                            sync.Mutex
	latency                       Histogram // guarded by mu
	publishErrors, connectionLost atomic.Int64
}

func (r *mqttRun) now() int64         { return int64(time.Since(r.epoch)) }
func (r *mqttRun) in(t int64) bool    { return t >= r.from && t < r.to }
func (r *mqttRun) merge(h *Histogram) { r.mu.Lock(); r.latency.Merge(h); r.mu.Unlock() }

// normalize fills defaults and checks cfg.
func (cfg *MQTTConfig) normalize() error {
	cfg.Size = max(cfg.Size, mqttMinBody)
	cfg.Publishers = max(cfg.Publishers, 0)
	cfg.Subscribers = max(cfg.Subscribers, 0)
	if cfg.InFlight <= 0 {
		cfg.InFlight = 100
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 5 * time.Second
	}
	if cfg.QoS < 0 || cfg.QoS > 2 {
		return fmt.Errorf("bench: qos %d (want 0, 1 or 2)", cfg.QoS)
	}
	if cfg.Duration <= 0 {
		return errors.New("bench: duration must be positive")
	}
	return nil
}

// name derives a scenario label from the settings.
func (cfg *MQTTConfig) name() string {
	s := fmt.Sprintf("mqtt-p%ds%d-qos%d-%dB", cfg.Publishers, cfg.Subscribers, cfg.QoS, cfg.Size)
	if cfg.Rate > 0 {
		s += fmt.Sprintf("-rate%g", cfg.Rate)
	}
	return s
}

// RunMQTT runs the MQTT scenario once: subscribers first, then publishers;
// after the window the publishers stop and the subscribers get cfg.Drain
// (or until nothing more arrives) before losses are counted: messages the
// broker accepted (PUBACK/PUBCOMP for QoS 1/2, written for QoS 0) times
// subscribers, minus deliveries.
func RunMQTT(ctx context.Context, cfg MQTTConfig) (*Result, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	r := &mqttRun{cfg: cfg, epoch: time.Now(),
		topic: fmt.Sprintf("bench/%d/%d", os.Getpid(), time.Now().UnixNano()%1e9)}
	subs := make([]paho.Client, 0, cfg.Subscribers)
	defer func() {
		for _, c := range subs {
			c.Disconnect(0)
		}
	}()
	for i := range cfg.Subscribers {
		c, err := r.subscribe(fmt.Sprintf("bs-%d-%d", os.Getpid(), i))
		if err != nil {
			return nil, err
		}
		subs = append(subs, c)
	}
	r.from = r.now() + int64(cfg.Warmup)
	r.to = r.from + int64(cfg.Duration)
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i := range cfg.Publishers {
		wg.Go(func() {
			if err := r.publish(pctx, i); err != nil && pctx.Err() == nil {
				cancel(err)
			}
		})
	}
	before, after, err := measureWindow(pctx, cancel, &wg, r.epoch, r.from, r.to, cfg.BrokerPID)
	if err != nil {
		return nil, err
	}
	r.drain(ctx)
	for _, c := range subs {
		c.Disconnect(0) // merges its latency histogram
	}
	subs = nil
	return r.result(before, after), nil
}

// drain waits until every accepted message was delivered to every
// subscriber, nothing arrived for a second, or cfg.Drain passed.
func (r *mqttRun) drain(ctx context.Context) {
	deadline := time.Now().Add(r.cfg.Drain)
	last, quiet := r.totalDelivered.Load(), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		want := r.totalAcked.Load() * int64(r.cfg.Subscribers)
		got := r.totalDelivered.Load()
		if got >= want {
			return
		}
		if got != last {
			last, quiet = got, time.Now()
		} else if time.Since(quiet) > time.Second {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// options returns paho client options for one client.
func (r *mqttRun) options(id string) (*paho.ClientOptions, error) {
	u, err := url.Parse(r.cfg.URI)
	if err != nil {
		return nil, err
	}
	o := paho.NewClientOptions().AddBroker(u.Scheme + "://" + u.Host).SetClientID(id).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetKeepAlive(60 * time.Second).SetConnectTimeout(10 * time.Second).
		SetProtocolVersion(4).SetOrderMatters(true).
		SetConnectionLostHandler(func(paho.Client, error) { r.connectionLost.Add(1) })
	if u.User != nil {
		o.SetUsername(u.User.Username())
		if p, ok := u.User.Password(); ok {
			o.SetPassword(p)
		}
	}
	return o, nil
}

// connect connects one client.
func (r *mqttRun) connect(o *paho.ClientOptions) (paho.Client, error) {
	c := paho.NewClient(o)
	t := c.Connect()
	if !t.WaitTimeout(15*time.Second) || t.Error() != nil {
		return nil, fmt.Errorf("bench: mqtt connect: %w", orTimeout(t.Error()))
	}
	return c, nil
}

func orTimeout(err error) error {
	if err == nil {
		return errors.New("timed out")
	}
	return err
}

// subscribe connects a subscriber and subscribes it to the run's topic.
func (r *mqttRun) subscribe(id string) (paho.Client, error) {
	o, err := r.options(id)
	if err != nil {
		return nil, err
	}
	var h Histogram
	var mu sync.Mutex // guards h: paho may call the handler from several goroutines
	o.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
		p := m.Payload()
		if len(p) < mqttMinBody {
			return
		}
		r.totalDelivered.Add(1)
		sent, now := int64(binary.LittleEndian.Uint64(p)), r.now()
		if r.in(sent) {
			r.delivered.Add(1)
			mu.Lock()
			h.Record(now - sent)
			mu.Unlock()
		}
	})
	c, err := r.connect(o)
	if err != nil {
		return nil, err
	}
	t := c.Subscribe(r.topic, byte(r.cfg.QoS), nil)
	if !t.WaitTimeout(15*time.Second) || t.Error() != nil {
		c.Disconnect(0)
		return nil, fmt.Errorf("bench: mqtt subscribe: %w", orTimeout(t.Error()))
	}
	// Merge the histogram when the client disconnects: paho calls no
	// handler after Disconnect returns.
	return &mergingClient{Client: c, done: func() { mu.Lock(); r.merge(&h); mu.Unlock() }}, nil
}

// mergingClient runs done once after Disconnect.
type mergingClient struct {
	paho.Client
	done func()
}

func (c *mergingClient) Disconnect(quiesce uint) {
	c.Client.Disconnect(quiesce)
	c.done()
}

// publish connects publisher i and publishes until ctx ends, with at most
// cfg.InFlight unacknowledged messages, paced when cfg.Rate is set.
func (r *mqttRun) publish(ctx context.Context, i int) error {
	o, err := r.options(fmt.Sprintf("bp-%d-%d", os.Getpid(), i))
	if err != nil {
		return err
	}
	c, err := r.connect(o)
	if err != nil {
		return err
	}
	defer c.Disconnect(100)
	var p pacer
	if r.cfg.Rate > 0 {
		p = pacer{start: r.now(), interval: 1e9 / (r.cfg.Rate / float64(max(r.cfg.Publishers, 1)))}
	}
	ring := make([]paho.Token, r.cfg.InFlight) // unacknowledged publishes, oldest at head
	head, n := 0, 0
	var stamps [1]int64
	for ctx.Err() == nil {
		if n == len(ring) {
			if err := r.settle(ring[head]); err != nil {
				return err
			}
			head, n = (head+1)%len(ring), n-1
		}
		now := r.now()
		if p.due(now, stamps[:]) == 0 {
			if err := p.wait(ctx, now); err != nil {
				break
			}
			continue
		}
		body := make([]byte, r.cfg.Size) // paho keeps the slice until written
		binary.LittleEndian.PutUint64(body, uint64(stamps[0]))
		binary.LittleEndian.PutUint32(body[8:], uint32(i))
		ring[(head+n)%len(ring)] = c.Publish(r.topic, byte(r.cfg.QoS), false, body)
		n++
		if r.in(stamps[0]) {
			r.published.Add(1)
		}
	}
	for ; n > 0; n-- {
		if err := r.settle(ring[head]); err != nil {
			return err
		}
		head = (head + 1) % len(ring)
	}
	return nil
}

// settle waits for a publish token and counts the message as accepted.
func (r *mqttRun) settle(t paho.Token) error {
	if !t.WaitTimeout(30 * time.Second) {
		return errors.New("bench: mqtt publish not acknowledged in 30 s")
	}
	if t.Error() != nil {
		r.publishErrors.Add(1)
		return nil
	}
	r.totalAcked.Add(1)
	return nil
}

// result builds the run's Result.
func (r *mqttRun) result(before, after sample) *Result {
	secs := r.cfg.Duration.Seconds()
	host, _ := os.Hostname()
	res := &Result{
		Time: time.Now().UTC().Format(time.RFC3339), Broker: r.cfg.Broker, Scenario: r.cfg.Scenario,
		Kind: "mqtt", Client: "paho", Host: host, CPUs: runtime.NumCPU(), Settings: r.cfg,
		DurationSec: secs, Published: r.published.Load(), Delivered: r.delivered.Load(),
	}
	if res.Scenario == "" {
		res.Scenario = r.cfg.name()
	}
	res.PublishRate = float64(res.Published) / secs
	res.DeliverRate = float64(res.Delivered) / secs
	lost := r.totalAcked.Load()*int64(r.cfg.Subscribers) - r.totalDelivered.Load()
	res.Lost = new(max(lost, 0))
	if lost < 0 {
		res.Duplicates = -lost
	}
	res.Note = fmt.Sprintf("accepted %d, delivered %d, publish errors %d, connections lost %d",
		r.totalAcked.Load(), r.totalDelivered.Load(), r.publishErrors.Load(), r.connectionLost.Load())
	r.mu.Lock()
	res.LatencyP50Ms = ms(r.latency.Quantile(0.50))
	res.LatencyP99Ms = ms(r.latency.Quantile(0.99))
	res.LatencyMaxMs = ms(r.latency.Max())
	r.mu.Unlock()
	res.addCPU(before, after, max(res.Delivered, res.Published, 1), r.cfg.BrokerPID)
	return res
}
