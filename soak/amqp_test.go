package soak_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"
)

const amqpQueue = "soak-amqp"

// amqpLoad publishes persistent messages with confirms to a durable queue
// and consumes them with manual acks.
type amqpLoad struct {
	url string
	t   *tally
}

func newAMQPLoad(addr string) *amqpLoad {
	return &amqpLoad{url: "amqp://guest:guest@" + addr + "/", t: newTally("amqp")}
}

func (a *amqpLoad) tally() *tally { return a.t }

// dial connects and returns the connection and its socket, to drop it.
func (a *amqpLoad) dial() (*rmq.Connection, net.Conn, error) {
	var mu sync.Mutex
	var sock net.Conn
	c, err := rmq.DialConfig(a.url, rmq.Config{Heartbeat: 10 * time.Second,
		Dial: func(network, addr string) (net.Conn, error) {
			nc, err := net.DialTimeout(network, addr, 10*time.Second)
			mu.Lock()
			sock = nc
			mu.Unlock()
			return nc, err
		}})
	mu.Lock()
	defer mu.Unlock()
	return c, sock, err
}

func (a *amqpLoad) setup(ctx context.Context) error {
	c, _, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		return err
	}
	_, err = ch.QueueDeclare(amqpQueue, true, false, false, false, nil)
	return err
}

// produce publishes from one channel in confirm mode; a second goroutine
// waits for the confirms in order.
func (a *amqpLoad) produce(ctx context.Context, rate float64) {
	for ctx.Err() == nil {
		a.produceOnce(ctx, rate)
		sleepCtx(ctx, time.Second) // the connection failed: reconnect
	}
}

func (a *amqpLoad) produceOnce(ctx context.Context, rate float64) {
	c, _, err := a.dial()
	if err != nil {
		return
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil || ch.Confirm(false) != nil {
		return
	}
	type pending struct {
		id int
		dc *rmq.DeferredConfirmation
	}
	confirms := make(chan pending, 4096)
	var wg sync.WaitGroup
	wg.Go(func() {
		for p := range confirms {
			if ok, err := p.dc.WaitContext(context.Background()); err == nil && ok {
				a.t.confirm(p.id)
			}
		}
	})
	defer func() { close(confirms); wg.Wait() }()
	failed := false
	pace(ctx, rate, 20, 1, func(n int) {
		if failed {
			return
		}
		first := a.t.ids(n)
		for id := first; id < first+n; id++ {
			dc, err := ch.PublishWithDeferredConfirm("", amqpQueue, false, false, rmq.Publishing{
				DeliveryMode: rmq.Persistent, Body: []byte("a-" + strconv.Itoa(id))})
			if err != nil {
				failed = true
				return
			}
			confirms <- pending{id, dc}
		}
	})
}

func (a *amqpLoad) consume(ctx context.Context, life time.Duration, abrupt bool) {
	c, sock, err := a.dial()
	if err != nil {
		return
	}
	defer func() {
		if abrupt {
			_ = sock.Close()
		}
		_ = c.Close()
	}()
	ch, err := c.Channel()
	if err != nil || ch.Qos(100, 0, false) != nil {
		return
	}
	msgs, err := ch.Consume(amqpQueue, "", false, false, false, false, nil)
	if err != nil {
		return
	}
	end := time.After(life)
	for {
		select {
		case <-ctx.Done():
			return
		case <-end:
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			a.t.deliver("a", m.Body)
			if m.Ack(false) != nil {
				return
			}
		}
	}
}
