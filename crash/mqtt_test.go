package crash_test

import (
	"context"
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

const mqttTopic = "crash/mqtt"

// mqttFace publishes QoS 1 messages that a persistent session
// (clean=false, subscribed once at QoS 1) receives while it is online.
type mqttFace struct {
	b *broker
	l *ledger
}

func (f *mqttFace) options(id string, clean bool) *paho.ClientOptions {
	return paho.NewClientOptions().
		AddBroker("tcp://" + f.b.addrs().mqtt).
		SetClientID(id).SetUsername("guest").SetPassword("guest").
		SetCleanSession(clean).SetAutoReconnect(false).
		SetConnectTimeout(2 * time.Second).SetKeepAlive(5 * time.Second).
		SetWriteTimeout(5 * time.Second)
}

func (f *mqttFace) connect(o *paho.ClientOptions) (paho.Client, error) {
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		c.Disconnect(0)
		return nil, fmt.Errorf("mqtt connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	return c, nil
}

// subscribeOnce creates the persistent session and its subscription; later
// connections resume it without subscribing again.
func (f *mqttFace) subscribeOnce() error {
	c, err := f.connect(f.options("crash-sub", false))
	if err != nil {
		return err
	}
	defer c.Disconnect(100)
	tok := c.Subscribe(mqttTopic, 1, nil)
	if !tok.WaitTimeout(5 * time.Second) {
		return fmt.Errorf("subscribe timed out")
	}
	return tok.Error()
}

func (f *mqttFace) produce(ctx context.Context) {
	next := 0
	for ctx.Err() == nil {
		next = f.produceOnce(ctx, next)
		pause(ctx)
	}
}

// produceOnce publishes with at most 32 unacknowledged messages on one
// connection and returns the next id.
func (f *mqttFace) produceOnce(ctx context.Context, next int) int {
	c, err := f.connect(f.options("crash-pub", true))
	if err != nil {
		return next
	}
	defer c.Disconnect(0)
	type pending struct {
		id  int
		tok paho.Token
	}
	window := make(chan pending, 32)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range window {
			if p.tok.WaitTimeout(10*time.Second) && p.tok.Error() == nil {
				f.l.confirm(p.id)
			}
		}
	}()
	defer func() { close(window); <-done }()
	for ctx.Err() == nil && c.IsConnectionOpen() {
		id := next
		tok := c.Publish(mqttTopic, 1, false, fmt.Appendf(nil, "m-%d", id))
		next++
		f.l.published.Add(1)
		window <- pending{id, tok}
	}
	return next
}

func (f *mqttFace) consume(ctx context.Context) {
	for ctx.Err() == nil {
		f.consumeOnce(ctx)
		pause(ctx)
	}
}

// consumeOnce resumes the persistent session until the connection drops.
func (f *mqttFace) consumeOnce(ctx context.Context) {
	lost := make(chan struct{})
	o := f.options("crash-sub", false).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			if id, ok := parseID("m", m.Payload()); ok {
				f.l.deliver(mqttTopic, id)
			}
		}).
		SetConnectionLostHandler(func(paho.Client, error) { close(lost) })
	c, err := f.connect(o)
	if err != nil {
		return
	}
	defer c.Disconnect(0)
	select {
	case <-ctx.Done():
	case <-lost:
	}
}
