package memcore

import (
	"sync"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/core/message"
)

type entry struct {
	seq         uint64
	msg         *message.Message
	redelivered bool
	count       uint32
}

type queue struct {
	name                string
	v                   *vhost
	owner               uint64 // connection id of an exclusive queue, else 0
	durable, autoDelete bool

	mu          sync.Mutex // guards the fields below
	ready       []entry
	unacked     map[uint64]entry
	nextSeq     uint64
	consumers   []*consumer
	rr          int
	hadConsumer bool
	deleted     bool
}

type consumer struct {
	q         *queue
	c         amqp.Consumer
	o         amqp.ConsumeOptions
	cancelled bool
}

func (q *queue) Name() string { return q.name }

// lookup returns a queue the session may use.
func (s *session) lookup(name string) (*queue, error) {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	q, ok := s.v.queues[name]
	if !ok {
		return nil, amqp.ErrQueueNotFound
	}
	if q.owner != 0 && q.owner != s.conn {
		return nil, amqp.ErrQueueLocked
	}
	return q, nil
}

func (s *session) DeclareQueue(d amqp.QueueDecl) (int, int, error) {
	s.v.mu.Lock()
	q, ok := s.v.queues[d.Name]
	switch {
	case ok && q.owner != 0 && q.owner != s.conn:
		s.v.mu.Unlock()
		return 0, 0, amqp.ErrQueueLocked
	case !ok && d.Passive:
		s.v.mu.Unlock()
		return 0, 0, amqp.ErrQueueNotFound
	case ok && !d.Passive && q.durable != d.Durable:
		s.v.mu.Unlock()
		return 0, 0, inequivalent("queue", d.Name, s.v.name, "durable", d.Durable, q.durable)
	case !ok:
		q = &queue{name: d.Name, v: s.v, durable: d.Durable, autoDelete: d.AutoDelete, unacked: map[uint64]entry{}}
		if d.Exclusive {
			q.owner = s.conn
		}
		s.v.queues[d.Name] = q
	}
	s.v.mu.Unlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ready), len(q.consumers), nil
}

func (s *session) DeleteQueue(name string, ifUnused, ifEmpty bool) (int, error) {
	q, err := s.lookup(name)
	if err != nil {
		return 0, err
	}
	q.mu.Lock()
	if ifUnused && len(q.consumers) > 0 {
		q.mu.Unlock()
		return 0, amqp.ErrInUse
	}
	if ifEmpty && len(q.ready) > 0 {
		q.mu.Unlock()
		return 0, amqp.ErrNotEmpty
	}
	q.mu.Unlock()
	return q.delete(), nil
}

// delete removes q from its vhost and cancels its consumers.
func (q *queue) delete() int {
	q.v.mu.Lock()
	if q.v.queues[q.name] == q {
		delete(q.v.queues, q.name)
	}
	q.v.unbindAllLocked(q.name)
	q.v.mu.Unlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.ready)
	q.deleted = true
	for _, c := range q.consumers {
		c.cancelled = true
		c.c.Cancelled()
	}
	q.consumers, q.ready = nil, nil
	return n
}

func (s *session) PurgeQueue(name string) (int, error) {
	q, err := s.lookup(name)
	if err != nil {
		return 0, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.ready)
	q.ready = nil
	return n, nil
}

func (s *session) BindQueue(name, ex, key string, args message.Table) error {
	if _, err := s.lookup(name); err != nil {
		return err
	}
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	x, ok := s.v.exchanges[ex]
	if !ok {
		return amqp.ErrExchangeNotFound
	}
	x.bind(binding{dest: name, key: key, args: args})
	return nil
}

func (s *session) UnbindQueue(name, ex, key string, _ message.Table) error {
	if _, err := s.lookup(name); err != nil {
		return err
	}
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	x, ok := s.v.exchanges[ex]
	if !ok {
		return amqp.ErrExchangeNotFound
	}
	s.v.unbindLocked(x, name, false, key)
	return nil
}

func (s *session) Close() {
	s.v.mu.Lock()
	var own []*queue
	for _, q := range s.v.queues {
		if q.owner == s.conn {
			own = append(own, q)
		}
	}
	s.v.mu.Unlock()
	for _, q := range own {
		q.delete()
	}
}

func (q *queue) enqueue(m *message.Message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return
	}
	q.nextSeq++
	q.ready = append(q.ready, entry{seq: q.nextSeq, msg: m})
	q.dispatchLocked()
}

// dispatchLocked hands ready messages to consumers with room, highest
// priority first, round-robin among equals.
func (q *queue) dispatchLocked() {
	for len(q.ready) > 0 {
		c := q.pickLocked()
		if c == nil {
			return
		}
		e := q.ready[0]
		q.ready = q.ready[1:]
		e.count++
		if !c.o.NoAck {
			q.unacked[e.seq] = e
		}
		c.c.Deliver(amqp.Delivery{Queue: q, Seq: e.seq, Msg: e.msg, Redelivered: e.redelivered, DeliveryCount: e.count})
	}
}

func (q *queue) pickLocked() *consumer {
	best := int32(-1 << 31)
	var pick *consumer
	n := len(q.consumers)
	for i := range n {
		c := q.consumers[(q.rr+i)%n]
		if c.o.Priority <= best && pick != nil {
			continue
		}
		if !acquire(c.o.Limiters, q) {
			continue
		}
		if pick != nil {
			release(pick.o.Limiters)
		}
		pick, best = c, c.o.Priority
	}
	if pick != nil {
		q.rr++
	}
	return pick
}

func (s *session) Consume(name string, c amqp.Consumer, o amqp.ConsumeOptions) (amqp.Subscription, error) {
	q, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, o := range q.consumers {
		if o.o.Exclusive {
			return nil, amqp.ErrExclusiveUse
		}
	}
	if o.Exclusive && len(q.consumers) > 0 {
		return nil, amqp.ErrExclusiveUse
	}
	cs := &consumer{q: q, c: c, o: o}
	q.consumers = append(q.consumers, cs)
	q.hadConsumer = true
	q.dispatchLocked()
	return cs, nil
}

func (c *consumer) Cancel() {
	q := c.q
	q.mu.Lock()
	if c.cancelled {
		q.mu.Unlock()
		return
	}
	c.cancelled = true
	for i, o := range q.consumers {
		if o == c {
			q.consumers = append(q.consumers[:i:i], q.consumers[i+1:]...)
			break
		}
	}
	empty := len(q.consumers) == 0
	q.mu.Unlock()
	if empty && q.autoDelete {
		q.delete()
	}
}

func (s *session) Get(name string, autoAck bool) (amqp.Delivery, int, bool, error) {
	q, err := s.lookup(name)
	if err != nil {
		return amqp.Delivery{}, 0, false, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.ready) == 0 {
		return amqp.Delivery{}, 0, false, nil
	}
	e := q.ready[0]
	q.ready = q.ready[1:]
	e.count++
	if !autoAck {
		q.unacked[e.seq] = e
	}
	return amqp.Delivery{Queue: q, Seq: e.seq, Msg: e.msg, Redelivered: e.redelivered, DeliveryCount: e.count}, len(q.ready), true, nil
}

func (q *queue) Ack(seqs []uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, s := range seqs {
		delete(q.unacked, s)
	}
}

func (q *queue) Nack(seqs []uint64, requeue bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var back []entry
	for _, s := range seqs {
		e, ok := q.unacked[s]
		if !ok {
			continue
		}
		delete(q.unacked, s)
		if requeue {
			e.redelivered = true
			back = append(back, e)
		}
	}
	if len(back) > 0 {
		q.ready = append(back, q.ready...)
		q.dispatchLocked()
	}
}

func (s *session) NewLimiter(prefetch uint32) amqp.Limiter {
	return &limiter{limit: int(prefetch), waiting: map[*queue]bool{}}
}

// limiter is a prefetch window. Lock order: queue.mu, then limiter.mu.
type limiter struct {
	mu      sync.Mutex // guards the fields below
	limit   int
	used    int
	waiting map[*queue]bool
}

func acquire(ls []amqp.Limiter, q *queue) bool {
	for i, l := range ls {
		if !l.(*limiter).tryAcquire(q) {
			release(ls[:i])
			return false
		}
	}
	return true
}

func release(ls []amqp.Limiter) {
	for _, l := range ls {
		l.(*limiter).mu.Lock()
		l.(*limiter).used--
		l.(*limiter).mu.Unlock()
	}
}

func (l *limiter) tryAcquire(q *queue) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limit > 0 && l.used >= l.limit {
		l.waiting[q] = true
		return false
	}
	l.used++
	return true
}

func (l *limiter) SetPrefetch(n uint32) {
	l.mu.Lock()
	l.limit = int(n)
	l.mu.Unlock()
	l.wake()
}

func (l *limiter) Release(n int) {
	l.mu.Lock()
	l.used = max(0, l.used-n)
	l.mu.Unlock()
	l.wake()
}

func (l *limiter) wake() {
	l.mu.Lock()
	qs := l.waiting
	l.waiting = map[*queue]bool{}
	l.mu.Unlock()
	for q := range qs {
		q.mu.Lock()
		q.dispatchLocked()
		q.mu.Unlock()
	}
}
