package core

import (
	"encoding/json"
	"time"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/route"
	"github.com/junctionmq/junction/core/store"
	"github.com/junctionmq/junction/core/stream"
)

// kindStream is the definition record of a plain stream (an AMQP stream
// queue); partitioned streams use stream.DefKind.
const kindStream = "stream"

// streamDest is a binding destination that is a log rather than a queue.
type streamDest interface {
	appendMessage(m *message.Message, data []byte, done store.Done) error
	close()
}

// plainStream is a single stream: an AMQP stream queue.
type plainStream struct{ s *stream.Stream }

func (p plainStream) appendMessage(_ *message.Message, data []byte, done store.Done) error {
	_, err := p.s.Append(stream.KindMessage, data, done)
	return err
}

func (p plainStream) close() { p.s.Close() }

// partitioned is a partitioned stream (a Kinesis stream): a message goes to
// the partition owning MD5 of its partition key (the routing key unless the
// message carries a Kinesis partition key), or its explicit hash key.
type partitioned struct{ ps *stream.Partitioned }

func (p partitioned) appendMessage(m *message.Message, data []byte, done store.Done) error {
	key := m.RoutingKey
	if m.AWS != nil && m.AWS.PartitionKey != "" {
		key = m.AWS.PartitionKey
	}
	hk := stream.HashKeyFor(key)
	if m.AWS != nil && m.AWS.ExplicitHashKey != "" {
		k, err := stream.ParseHashKey(m.AWS.ExplicitHashKey)
		if err != nil {
			return err
		}
		hk = k
	}
	_, _, err := p.ps.Append(hk, stream.KindMessage, data, done)
	return err
}

func (p partitioned) close() { p.ps.Close() }

// streamDef is the persisted shape of a plain stream.
type streamDef struct {
	Name     string        `json:"name"`
	MaxAge   time.Duration `json:"max_age"`
	MaxBytes int64         `json:"max_bytes"`
}

func (v *Vhost) streamOptions(maxAge time.Duration, maxBytes int64) stream.Options {
	return stream.Options{Now: v.b.clock.Now, MaxAge: maxAge, MaxBytes: maxBytes, Retainer: v.b.retain}
}

// DeclareStream declares a plain stream (an AMQP x-queue-type=stream queue):
// durable, with retention by age and size (0 = none). It shares the queue
// namespace. It reports whether the stream was created.
func (v *Vhost) DeclareStream(name string, maxAge time.Duration, maxBytes int64) (*stream.Stream, bool, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if d, ok := v.streams[name].(plainStream); ok {
		return d.s, false, nil
	}
	if v.queues[name] != nil || v.streams[name] != nil {
		return nil, false, errorf(ErrPrecondition, "inequivalent arg 'x-queue-type' for queue '%s' in vhost '%s': received 'stream' but current is 'classic'", name, v.name)
	}
	if err := checkName("queue", name, v.name); err != nil {
		return nil, false, err
	}
	if err := v.checkQueueLimit(name); err != nil {
		return nil, false, err
	}
	s := stream.Create(v.b.st, queueKey(v.name, name), v.streamOptions(maxAge, maxBytes))
	if err := v.putDef(kindStream, name, streamDef{Name: name, MaxAge: maxAge, MaxBytes: maxBytes}); err != nil {
		s.Close()
		return nil, false, err
	}
	v.addStream(name, plainStream{s})
	return s, true, nil
}

// CreatePartitioned creates a partitioned stream of n partitions (a Kinesis
// stream). Its name shares the queue namespace of the vhost.
func (v *Vhost) CreatePartitioned(name string, n int, maxAge time.Duration) (*stream.Partitioned, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.queues[name] != nil || v.streams[name] != nil {
		return nil, errorf(ErrPrecondition, "stream '%s' in vhost '%s' exists", name, v.name)
	}
	if err := checkName("stream", name, v.name); err != nil {
		return nil, err
	}
	ps, err := stream.NewPartitioned(v.b.st, queueKey(v.name, name), n, v.streamOptions(maxAge, 0))
	if err != nil {
		return nil, &Error{Kind: ErrPrecondition, Text: err.Error(), Err: err}
	}
	if err := ps.Save(); err != nil {
		ps.Close()
		return nil, &Error{Kind: ErrStore, Text: err.Error(), Err: err}
	}
	v.addStream(name, partitioned{ps})
	return ps, nil
}

// addStream registers a stream; v.mu must be held.
func (v *Vhost) addStream(name string, d streamDest) {
	v.streams[name] = d
	v.routes.AddDest(route.Dest{Kind: route.DestStream, Name: name})
}

// Stream returns a plain stream by name.
func (v *Vhost) Stream(name string) (*stream.Stream, error) {
	v.mu.RLock()
	d, ok := v.streams[name].(plainStream)
	v.mu.RUnlock()
	if !ok {
		return nil, errorf(ErrNotFound, "no queue '%s' in vhost '%s'", name, v.name)
	}
	return d.s, nil
}

// Partitioned returns a partitioned stream by name.
func (v *Vhost) Partitioned(name string) (*stream.Partitioned, error) {
	v.mu.RLock()
	d, ok := v.streams[name].(partitioned)
	v.mu.RUnlock()
	if !ok {
		return nil, errorf(ErrNotFound, "no stream '%s' in vhost '%s'", name, v.name)
	}
	return d.ps, nil
}

// DeleteStream deletes a plain or partitioned stream with its records and
// bindings.
func (v *Vhost) DeleteStream(name string) error {
	v.mu.Lock()
	d := v.streams[name]
	delete(v.streams, name)
	v.mu.Unlock()
	if d == nil {
		return errorf(ErrNotFound, "no stream '%s' in vhost '%s'", name, v.name)
	}
	v.forgetRemoved(v.routes.RemoveDest(name))
	switch d := d.(type) {
	case plainStream:
		d.s.Drop(nil)
		v.deleteDef(kindStream, name)
	case partitioned:
		d.ps.Drop()
		v.deleteDef(stream.DefKind, name)
	}
	return nil
}

// appendToStream offers m to a stream destination for deliver.
func (v *Vhost) appendToStream(name string, m *message.Message, data []byte, c *confirm) bool {
	v.mu.RLock()
	d := v.streams[name]
	v.mu.RUnlock()
	if d == nil {
		return false
	}
	var done store.Done
	if c != nil {
		c.pending.Add(1)
		done = c.settle
	}
	if err := d.appendMessage(m, data, done); err != nil {
		v.b.log.Debug("stream append failed", "vhost", v.name, "stream", name, "err", err)
		c.fail()
	}
	return true
}

func (v *Vhost) loadStream(data []byte) error {
	var d streamDef
	if err := json.Unmarshal(data, &d); err != nil {
		return err
	}
	s, err := stream.Open(v.b.st, queueKey(v.name, d.Name), v.streamOptions(d.MaxAge, d.MaxBytes))
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.addStream(d.Name, plainStream{s})
	v.mu.Unlock()
	return nil
}

func (v *Vhost) loadPartitioned(data []byte) error {
	var d stream.Definition
	if err := json.Unmarshal(data, &d); err != nil {
		return err
	}
	ps, err := stream.OpenPartitioned(v.b.st, d, v.streamOptions(0, 0))
	if err != nil {
		return err
	}
	_, name, _ := cutKey(d.Name)
	v.mu.Lock()
	v.addStream(name, partitioned{ps})
	v.mu.Unlock()
	return nil
}
