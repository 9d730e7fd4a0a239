package awsgw

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/route"
)

// deliveryQueuePrefix names the core queue that feeds a push (http, https,
// amqp, mqtt) subscription.
const deliveryQueuePrefix = "sns-subscription."

// subRun is a running push subscription: its consumer on its delivery
// queue.
type subRun struct {
	sub    *snsSub // immutable copy
	q      *queue.Queue
	qs     *queue.Subscription
	pool   *pushPool
	closed atomic.Bool
}

// Deliver implements queue.Consumer: it hands the delivery to the pool.
func (r *subRun) Deliver(d queue.Delivery) {
	r.pool.add(&pushJob{run: r, d: d}) // due at once
}

// activate binds a confirmed subscription (again, after a restart or an
// attribute change: a rebind replaces the Matcher and Transform) and
// starts its push consumer.
func (s *snsService) activate(sub *snsSub) error {
	v, err := s.b.Vhost(sub.Vhost)
	if err != nil {
		return err
	}
	var q *queue.Queue
	if sub.Protocol != "sqs" {
		sub.Queue = deliveryQueuePrefix + sub.ID
		if q, _, err = v.DeclareQueue(core.QueueDecl{Name: sub.Queue, Durable: true}); err != nil {
			return err
		}
	}
	b, err := s.binding(sub)
	if err != nil {
		return err
	}
	if err := v.Bind(b); err != nil {
		return err
	}
	if q == nil {
		return nil
	}
	s.mu.Lock()
	old := s.runs[sub.ID]
	r := &subRun{sub: sub.clone(), q: q, pool: s.push}
	s.runs[sub.ID] = r
	s.mu.Unlock()
	if old != nil {
		old.stop()
	}
	r.qs, err = q.Consume(r, queue.ConsumeOptions{Tag: "sns:" + sub.ID,
		Limiters: []*queue.Limiter{queue.NewLimiter(pushPrefetch)}})
	return err
}

// stop cancels the consumer; its unacked deliveries go back to the queue.
func (r *subRun) stop() {
	r.closed.Store(true)
	if r.qs != nil {
		_ = r.q.Cancel(r.qs)
	}
}

// removeSub unbinds a subscription, deletes its delivery queue and its
// record.
func (s *snsService) removeSub(sub *snsSub) {
	s.mu.Lock()
	r := s.runs[sub.ID]
	delete(s.runs, sub.ID)
	delete(s.subs, sub.ID)
	s.mu.Unlock()
	if r != nil {
		r.stop()
	}
	if v, err := s.b.Vhost(sub.Vhost); err == nil {
		if sub.Protocol != "sqs" {
			_, _ = v.DeleteQueue(deliveryQueuePrefix+sub.ID, false, false, nil)
		} else if sub.Queue != "" {
			_ = v.Unbind(route.Binding{Source: sub.Topic, Key: sub.ID,
				Dest: route.Dest{Kind: route.DestQueue, Name: sub.Queue}})
		}
	}
	_ = s.b.Store().DeleteDef(defKindSub, sub.ID)
}

// forward republishes a delivery of an amqp or mqtt subscription to its
// exchange and routing key (mqtt: amq.topic, the topic mapped as RabbitMQ
// maps it), and waits until it is stored. An exchange-to-exchange binding
// cannot carry the envelope Transform, hence the delivery queue.
func (s *snsService) forward(ctx context.Context, sub *snsSub, m *message.Message) error {
	vhost, exchange, key := sub.Vhost, "amq.topic", ""
	if sub.Protocol == "amqp" {
		vhost, exchange, key, _ = parseAMQPEndpoint(sub.Endpoint)
	} else {
		key = mqttToRoutingKey(strings.TrimPrefix(sub.Endpoint, "mqtt://"))
	}
	v, err := s.b.Vhost(vhost)
	if err != nil {
		return err
	}
	c := &message.Message{Exchange: exchange, RoutingKey: key, Props: m.Props, Body: m.Body,
		Origin: message.FaceSNS, AWS: m.AWS, GroupID: m.GroupID, DedupID: m.DedupID}
	c.Props.DeliveryMode, c.Props.Flags = 2, c.Props.Flags|message.FlagDeliveryMode
	done := make(chan bool, 1)
	routed, err := v.Publish(c, func(ack bool) { done <- ack })
	if err != nil || !routed {
		return err // unroutable: dropped, as an AMQP publish without mandatory
	}
	select {
	case ack := <-done:
		if !ack {
			return errors.New("sns: forward refused")
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// mqttToRoutingKey maps an MQTT topic name to an AMQP routing key as
// RabbitMQ does ("/" ↔ ".").
func mqttToRoutingKey(topic string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '/':
			return '.'
		case '.':
			return '/'
		}
		return r
	}, topic)
}

// redriveQueue is the queue name of a subscription's RedrivePolicy.
func redriveQueue(sub *snsSub) string {
	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	}
	if json.Unmarshal([]byte(sub.Attrs["RedrivePolicy"]), &rp) != nil {
		return ""
	}
	parts := strings.Split(rp.DeadLetterTargetArn, ":")
	if len(parts) != 6 {
		return ""
	}
	return parts[5]
}
