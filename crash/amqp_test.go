package crash_test

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const amqpQueue = "crash-amqp"

// amqpFace publishes persistent messages with publisher confirms to a
// durable queue and consumes them with manual acks.
type amqpFace struct {
	b *broker
	l *ledger
}

func (f *amqpFace) dial() (*amqp.Connection, *amqp.Channel, error) {
	url := fmt.Sprintf("amqp://guest:guest@%s/", f.b.addrs().amqp)
	conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second), Heartbeat: 5 * time.Second})
	if err != nil {
		return nil, nil, err
	}
	ch, err := conn.Channel()
	if err == nil {
		_, err = ch.QueueDeclare(amqpQueue, true, false, false, false, nil)
	}
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, ch, nil
}

// produce publishes until ctx ends, reconnecting after each crash.
func (f *amqpFace) produce(ctx context.Context) {
	next := 0
	for ctx.Err() == nil {
		next = f.produceOnce(ctx, next)
		pause(ctx)
	}
}

// produceOnce publishes on one connection with at most 64 unconfirmed
// messages and returns the next id.
func (f *amqpFace) produceOnce(ctx context.Context, next int) int {
	conn, ch, err := f.dial()
	if err != nil {
		return next
	}
	defer conn.Close()
	if err := ch.Confirm(false); err != nil {
		return next
	}
	type pending struct {
		id int
		dc *amqp.DeferredConfirmation
	}
	window := make(chan pending, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range window {
			wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			ok, err := p.dc.WaitContext(wctx)
			cancel()
			if err == nil && ok {
				f.l.confirm(p.id)
			}
		}
	}()
	defer func() { close(window); <-done }()
	for ctx.Err() == nil && !conn.IsClosed() {
		id := next
		dc, err := ch.PublishWithDeferredConfirm("", amqpQueue, false, false, amqp.Publishing{
			DeliveryMode: amqp.Persistent, Body: fmt.Appendf(nil, "a-%d", id),
		})
		if err != nil {
			return next
		}
		next++
		f.l.published.Add(1)
		window <- pending{id, dc}
	}
	return next
}

// consume receives and acks until ctx ends, reconnecting after each crash.
func (f *amqpFace) consume(ctx context.Context) {
	for ctx.Err() == nil {
		f.consumeOnce(ctx)
		pause(ctx)
	}
}

func (f *amqpFace) consumeOnce(ctx context.Context) {
	conn, ch, err := f.dial()
	if err != nil {
		return
	}
	defer conn.Close()
	if err := ch.Qos(200, 0, false); err != nil {
		return
	}
	ds, err := ch.Consume(amqpQueue, "", false, false, false, false, nil)
	if err != nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case d, ok := <-ds:
			if !ok {
				return
			}
			id, ok := parseID("a", d.Body)
			if !ok {
				f.l.count("foreign", 1)
				_ = d.Ack(false)
				continue
			}
			f.l.deliver(amqpQueue, id)
			// An AMQP ack has no confirmation: one in flight at a kill may
			// come back, which counts as a duplicate.
			if d.Ack(false) == nil {
				f.l.ack(id)
			}
		}
	}
}

// pause waits a moment before reconnecting.
func pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(50 * time.Millisecond):
	}
}
