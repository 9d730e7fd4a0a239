package bench

import (
	"context"
	"fmt"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"
)

// amqp091Client drives load with github.com/rabbitmq/amqp091-go, one
// Publish call per message, as applications do.
type amqp091Client struct{}

// dial091 dials for a run and closes the connection when ctx ends.
func dial091(ctx context.Context, r *run) (*amqp.Connection, func() bool, error) {
	conn, err := amqp.Dial(r.cfg.URI)
	if err != nil {
		return nil, nil, err
	}
	return conn, context.AfterFunc(ctx, func() { conn.Close() }), nil
}

func (amqp091Client) produce(ctx context.Context, r *run) error {
	conn, stop, err := dial091(ctx, r)
	if err != nil {
		return err
	}
	defer func() { stop(); conn.Close() }()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	var win *window
	var wg sync.WaitGroup
	if r.cfg.Confirm > 0 {
		if err := ch.Confirm(false); err != nil {
			return err
		}
		win = newWindow(r.cfg.Confirm)
		confirms := ch.NotifyPublish(make(chan amqp.Confirmation, r.cfg.Confirm+1))
		wg.Go(func() { readConfirms091(r, win, confirms) })
	}
	if r.cfg.Tx > 0 {
		if err := ch.Tx(); err != nil {
			return err
		}
	}
	err = publish091(ctx, r, ch, win)
	conn.Close()
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// readConfirms091 records confirms until the channel closes.
func readConfirms091(r *run, win *window, confirms <-chan amqp.Confirmation) {
	var h Histogram
	defer r.merge(nil, &h)
	for c := range confirms {
		now := r.now()
		n := win.confirm(c.DeliveryTag, false, now, &h)
		if r.in(now) {
			r.confirmed.Add(int64(n))
		}
	}
}

// publish091 publishes one message per call until ctx ends.
func publish091(ctx context.Context, r *run, ch *amqp.Channel, win *window) error {
	msg := amqp.Publishing{DeliveryMode: amqp.Transient, Body: make([]byte, r.cfg.Size)}
	if r.cfg.Persistent {
		msg.DeliveryMode = amqp.Persistent
	}
	var stamps [1]int64
	var seq uint64
	var inTx int // publishes in the open transaction
	var late Histogram
	defer r.mergeTiming(&late, nil)
	pace := newPacer(r)
	for ctx.Err() == nil {
		if win != nil {
			if _, err := win.acquire(ctx, 1); err != nil {
				return nil
			}
		}
		now := r.now()
		if pace.due(now, stamps[:]) == 0 {
			if win != nil {
				<-win.tokens
			}
			if err := pace.wait(ctx, now); err != nil {
				return nil
			}
			continue
		}
		stamp(msg.Body, stamps[0])
		r.stampSent(msg.Body, stamps[0], r.now(), &late)
		if win != nil {
			seq++
			win.sending(seq, stamps[0])
		}
		if err := ch.PublishWithContext(ctx, r.exchange, r.key, false, false, msg); err != nil {
			return err
		}
		if r.cfg.Tx > 0 {
			// A transaction's publishes count once committed.
			if inTx++; inTx < r.cfg.Tx {
				continue
			}
			inTx = 0
			if err := ch.TxCommit(); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if r.in(now) {
				r.published.Add(int64(r.cfg.Tx))
			}
			continue
		}
		if r.in(now) {
			r.published.Add(1)
		}
	}
	return nil
}

func (amqp091Client) consume(ctx context.Context, r *run, queues []string, ready func()) error {
	conn, stop, err := dial091(ctx, r)
	if err != nil {
		return err
	}
	defer func() { stop(); conn.Close() }()
	var wg sync.WaitGroup
	errs := make([]error, len(queues))
	for i, q := range queues {
		ch, err := conn.Channel()
		if err != nil {
			return err
		}
		if r.cfg.Prefetch > 0 {
			if err := ch.Qos(r.cfg.Prefetch, 0, false); err != nil {
				return err
			}
		}
		ds, err := ch.Consume(q, "", r.cfg.AutoAck, false, false, false, nil)
		if err != nil {
			return fmt.Errorf("bench: consume %s: %w", q, err)
		}
		wg.Go(func() { errs[i] = consume091(r, ds) })
	}
	ready()
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return amqp.ErrClosed
}

// consume091 consumes one channel's deliveries until it closes.
func consume091(r *run, ds <-chan amqp.Delivery) error {
	var h, transit Histogram
	var count int64
	defer func() { r.delivered.Add(count); r.merge(&h, nil); r.mergeTiming(nil, &transit) }()
	unacked := 0
	for d := range ds {
		now := r.now()
		if r.in(now) {
			count++
			if len(d.Body) >= minBody {
				h.Record(now - stampOf(d.Body))
			}
			if sent := r.sentOf(d.Body); sent >= 0 {
				transit.Record(now - sent)
			}
		}
		if r.cfg.AutoAck {
			continue
		}
		if unacked++; unacked >= r.cfg.AckEvery {
			if err := d.Ack(r.cfg.AckEvery > 1); err != nil {
				return err
			}
			unacked = 0
		}
	}
	return nil
}
