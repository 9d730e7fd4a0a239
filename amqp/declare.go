package amqp

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// replyToQueue is the pseudo-queue of direct reply-to.
const replyToQueue = "amq.rabbitmq.reply-to"

// genName returns a server-generated name as RabbitMQ makes them:
// prefix, '-', 16 random bytes in URL-safe base64 ("amq.gen-JzTY20BRgKO-HjmUJj0wLg").
func genName(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	return prefix + "-" + base64.RawURLEncoding.EncodeToString(b[:])
}

// errDefaultExchange is RabbitMQ's refusal to touch the default exchange.
func errDefaultExchange() *replyError {
	return softErr(amqp091.AccessRefused, "operation not permitted on the default exchange")
}

// reserved reports whether a name to create uses the "amq." prefix.
func reserved(name string) bool { return strings.HasPrefix(name, "amq.") }

// queueName expands an empty queue name to the channel's last declared
// queue. AMQP 0-9-1 queue.bind/consume "queue" field rule.
func (ch *channel) queueName(name string) (string, error) {
	if name != "" {
		return name, nil
	}
	if ch.lastQueue == "" {
		return "", softErr(amqp091.NotFound, "no previously declared queue")
	}
	return ch.lastQueue, nil
}

func (ch *channel) obj(kind, queue, exchange string) object {
	o := object{kind: kind, queue: queue, exchange: exchange, vhost: ch.c.vhostName(), user: ch.c.user}
	o.name = queue
	if kind == "exchange" {
		o.name = exchange
	}
	return o
}

// fail maps a core error for the object it concerns.
func (ch *channel) fail(err error, o object) error {
	if err == nil {
		return nil
	}
	return replyFor(err, o)
}

func (ch *channel) exchangeDeclare(m *amqp091.ExchangeDeclare) error {
	o := ch.obj("exchange", "", m.Exchange)
	vh := ch.c.vhost
	if m.Exchange == "" && !m.Passive {
		return errDefaultExchange()
	}
	d := ExchangeDecl{Name: m.Exchange, Type: m.Type, Passive: m.Passive, Durable: m.Durable,
		AutoDelete: m.AutoDelete, Internal: m.Internal, Args: m.Arguments}
	// The core refuses new amq.* names (403) and allows redeclaring the
	// predeclared ones.
	if err := vh.DeclareExchange(d); err != nil {
		return ch.fail(err, o)
	}
	ch.reply(m.NoWait, &amqp091.ExchangeDeclareOk{})
	return nil
}

func (ch *channel) exchangeDelete(m *amqp091.ExchangeDelete) error {
	if m.Exchange == "" {
		return errDefaultExchange()
	}
	if err := ch.c.vhost.DeleteExchange(m.Exchange, m.IfUnused); err != nil {
		if !isNotFound(err) {
			return ch.fail(err, ch.obj("exchange", "", m.Exchange))
		}
		// RabbitMQ answers delete-ok for a missing exchange.
	}
	ch.reply(m.NoWait, &amqp091.ExchangeDeleteOk{})
	return nil
}

func (ch *channel) exchangeBind(m *amqp091.ExchangeBind) error {
	if m.Destination == "" || m.Source == "" {
		return errDefaultExchange()
	}
	err := ch.c.vhost.BindExchange(m.Destination, m.Source, m.RoutingKey, m.Arguments)
	if err != nil {
		return ch.fail(err, ch.obj("exchange", "", m.Source))
	}
	ch.reply(m.NoWait, &amqp091.ExchangeBindOk{})
	return nil
}

func (ch *channel) exchangeUnbind(m *amqp091.ExchangeUnbind) error {
	if m.Destination == "" || m.Source == "" {
		return errDefaultExchange()
	}
	err := ch.c.vhost.UnbindExchange(m.Destination, m.Source, m.RoutingKey, m.Arguments)
	if err != nil {
		return ch.fail(err, ch.obj("exchange", "", m.Source))
	}
	ch.reply(m.NoWait, &amqp091.ExchangeUnbindOk{})
	return nil
}

func (ch *channel) queueDeclare(m *amqp091.QueueDeclare) error {
	name := m.Queue
	switch {
	case name == "" && m.Passive:
		n, err := ch.queueName("")
		if err != nil {
			return err
		}
		name = n
	case name == "":
		name = genName("amq.gen")
	case name == replyToQueue && m.Passive:
		ch.reply(m.NoWait, &amqp091.QueueDeclareOk{Queue: name})
		return nil
	case !m.Passive && reserved(name):
		return softErr(amqp091.AccessRefused, "queue name '%s' contains reserved prefix 'amq.*'", name)
	}
	msgs, cons, err := ch.c.vhost.DeclareQueue(QueueDecl{Name: name, Passive: m.Passive, Durable: m.Durable,
		Exclusive: m.Exclusive, AutoDelete: m.AutoDelete, Args: m.Arguments})
	if err != nil {
		return ch.fail(err, ch.obj("queue", name, ""))
	}
	ch.lastQueue = name
	ch.reply(m.NoWait, &amqp091.QueueDeclareOk{Queue: name, MessageCount: uint32(msgs), ConsumerCount: uint32(cons)})
	return nil
}

func (ch *channel) queueBind(m *amqp091.QueueBind) error {
	q, key, err := ch.bindNames(m.Queue, m.Exchange, m.RoutingKey)
	if err != nil {
		return err
	}
	if err := ch.c.vhost.BindQueue(q, m.Exchange, key, m.Arguments); err != nil {
		return ch.fail(err, ch.obj("queue", q, m.Exchange))
	}
	ch.reply(m.NoWait, &amqp091.QueueBindOk{})
	return nil
}

func (ch *channel) queueUnbind(m *amqp091.QueueUnbind) error {
	q, key, err := ch.bindNames(m.Queue, m.Exchange, m.RoutingKey)
	if err != nil {
		return err
	}
	if err := ch.c.vhost.UnbindQueue(q, m.Exchange, key, m.Arguments); err != nil {
		return ch.fail(err, ch.obj("queue", q, m.Exchange))
	}
	ch.c.send(ch.id, &amqp091.QueueUnbindOk{})
	return nil
}

// bindNames applies RabbitMQ's shortcuts: an empty queue is the last
// declared one, and then an empty routing key is its name.
func (ch *channel) bindNames(queue, exchange, key string) (string, string, error) {
	if exchange == "" {
		return "", "", errDefaultExchange()
	}
	q, err := ch.queueName(queue)
	if err != nil {
		return "", "", err
	}
	if queue == "" && key == "" {
		key = q
	}
	return q, key, nil
}

func (ch *channel) queuePurge(m *amqp091.QueuePurge) error {
	q, err := ch.queueName(m.Queue)
	if err != nil {
		return err
	}
	n, err := ch.c.vhost.PurgeQueue(q)
	if err != nil {
		return ch.fail(err, ch.obj("queue", q, ""))
	}
	ch.reply(m.NoWait, &amqp091.QueuePurgeOk{MessageCount: uint32(n)})
	return nil
}

func (ch *channel) queueDelete(m *amqp091.QueueDelete) error {
	q, err := ch.queueName(m.Queue)
	if err != nil {
		return err
	}
	n, err := ch.c.vhost.DeleteQueue(q, m.IfUnused, m.IfEmpty)
	if err != nil && !isNotFound(err) {
		return ch.fail(err, ch.obj("queue", q, ""))
	}
	// RabbitMQ answers delete-ok with 0 for a missing queue.
	ch.reply(m.NoWait, &amqp091.QueueDeleteOk{MessageCount: uint32(n)})
	return nil
}

// isNotFound reports a missing queue or exchange, from the core or the
// face's own sentinels.
func isNotFound(err error) bool {
	return errors.Is(err, core.ErrNotFound) || errors.Is(err, ErrQueueNotFound) || errors.Is(err, ErrExchangeNotFound)
}
