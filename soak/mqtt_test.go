package soak_test

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
)

const mqttTopic = "soak/mqtt"

// mqttLoad publishes QoS 1 and consumes through a persistent session
// (clean session off) that is offline between the consumer's lives:
// the broker keeps its messages meanwhile.
type mqttLoad struct {
	addr string
	t    *tally
}

func newMQTTLoad(addr string) *mqttLoad { return &mqttLoad{addr: addr, t: newTally("mqtt")} }

func (m *mqttLoad) tally() *tally { return m.t }

// connect returns a connected client and a function that closes its
// socket abruptly.
func (m *mqttLoad) connect(id string, clean bool, onMsg paho3.MessageHandler) (paho3.Client, func(), error) {
	var mu sync.Mutex
	var sock net.Conn
	o := paho3.NewClientOptions().AddBroker("tcp://" + m.addr).SetClientID(id).
		SetUsername("guest").SetPassword("guest").SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(10 * time.Second).
		SetOrderMatters(false).SetKeepAlive(10 * time.Second).SetDefaultPublishHandler(onMsg).
		SetCustomOpenConnectionFn(func(u *url.URL, _ paho3.ClientOptions) (net.Conn, error) {
			nc, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
			mu.Lock()
			sock = nc
			mu.Unlock()
			return nc, err
		})
	c := paho3.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		return nil, nil, tok.Error()
	}
	drop := func() {
		mu.Lock()
		defer mu.Unlock()
		if sock != nil {
			_ = sock.Close()
		}
	}
	return c, drop, nil
}

func (m *mqttLoad) onMsg(_ paho3.Client, msg paho3.Message) { m.t.deliver("m", msg.Payload()) }

// setup creates the persistent session and its subscription.
func (m *mqttLoad) setup(ctx context.Context) error {
	c, _, err := m.connect("soak-sub", false, m.onMsg)
	if err != nil {
		return err
	}
	defer c.Disconnect(100)
	tok := c.Subscribe(mqttTopic, 1, nil)
	tok.WaitTimeout(20 * time.Second)
	return tok.Error()
}

// mqttPublishers is the number of publishing connections: the broker
// answers a client's QoS 1 PUBLISH once it is durable, one at a time per
// connection, so one connection alone is bounded by the sync latency.
const mqttPublishers = 8

func (m *mqttLoad) produce(ctx context.Context, rate float64) {
	var wg sync.WaitGroup
	for i := range mqttPublishers {
		wg.Go(func() {
			for ctx.Err() == nil {
				m.produceOnce(ctx, "soak-pub-"+strconv.Itoa(i), rate/mqttPublishers)
				sleepCtx(ctx, time.Second)
			}
		})
	}
	wg.Wait()
}

func (m *mqttLoad) produceOnce(ctx context.Context, id string, rate float64) {
	c, _, err := m.connect(id, true, nil)
	if err != nil {
		return
	}
	defer c.Disconnect(1000)
	type pending struct {
		id  int
		tok paho3.Token
	}
	acks := make(chan pending, 4096)
	var wg sync.WaitGroup
	wg.Go(func() {
		// Once the load ends, the acks still awaited share one minute.
		var deadline time.Time
		for p := range acks {
			wait := time.Minute
			if ctx.Err() != nil {
				if deadline.IsZero() {
					deadline = time.Now().Add(time.Minute)
				}
				wait = max(time.Until(deadline), time.Millisecond)
			}
			if p.tok.WaitTimeout(wait) && p.tok.Error() == nil {
				m.t.confirm(p.id)
			}
		}
	})
	defer func() { close(acks); wg.Wait() }()
	pace(ctx, rate, 10, 1, func(n int) {
		if !c.IsConnectionOpen() {
			return
		}
		first := m.t.ids(n)
		for id := first; id < first+n; id++ {
			acks <- pending{id, c.Publish(mqttTopic, 1, false, "m-"+strconv.Itoa(id))}
		}
	})
}

func (m *mqttLoad) consume(ctx context.Context, life time.Duration, abrupt bool) {
	c, drop, err := m.connect("soak-sub", false, m.onMsg)
	if err != nil {
		return
	}
	sleepCtx(ctx, life)
	if abrupt {
		drop()
		// paho notices the closed socket; Disconnect then returns at once.
	}
	c.Disconnect(250)
}

// sysDropped reads the broker's count of MQTT copies it dropped
// ($SYS/broker/messages/dropped, published every mqtt-sys-interval), or
// "?" if none arrives within 15 s.
func (m *mqttLoad) sysDropped() string {
	got := make(chan string, 1)
	c, _, err := m.connect("soak-sys", true, nil)
	if err != nil {
		return "?"
	}
	defer c.Disconnect(100)
	c.Subscribe("$SYS/broker/messages/dropped", 0, func(_ paho3.Client, msg paho3.Message) {
		select {
		case got <- string(msg.Payload()):
		default:
		}
	})
	select {
	case v := <-got:
		return v
	case <-time.After(15 * time.Second):
		return "?"
	}
}
