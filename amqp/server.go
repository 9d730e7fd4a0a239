package amqp

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/junctionmq/junction/alarm"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/tally"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// Server is the AMQP 0-9-1 server: it accepts connections on listeners
// and speaks RabbitMQ's dialect to them on behalf of a Broker.
type Server struct {
	broker Broker
	cfg    Config
	nextID atomic.Uint64

	mu        sync.Mutex // guards listeners, conns, closed
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closed    bool
	wg        sync.WaitGroup // accept loops and connections

	replyTo replyRegistry // direct reply-to consumers of every connection
	open    openConns     // open connections, for connection_max (conn.go)

	// Resource alarms (blocked.go). alarmMu guards alarm, alarmClear and
	// each conn's blockedSent; alarmOn is read without it by readers.
	alarmMu     sync.Mutex
	alarm       alarm.State
	alarmClear  chan struct{} // closed when the alarms clear
	alarmOn     atomic.Bool
	alarmCancel func() // unsubscribes from cfg.Alarms

	tally *tally.Face // the face's message counters (nil: a broker without them)
	spin  *spinPool   // tokens of the readers that busy-poll (spin.go)
}

// tallier is a Broker that keeps per-face message counters (CoreBroker).
type tallier interface{ Tally() *tally.Faces }

// NewServer returns a server for broker.
func NewServer(broker Broker, cfg Config) *Server {
	cfg = cfg.withDefaults()
	if cfg.ClusterName == "" {
		host, _ := os.Hostname()
		cfg.ClusterName = "junction@" + host
	}
	s := &Server{
		broker:    broker,
		cfg:       cfg,
		listeners: map[net.Listener]struct{}{},
		conns:     map[*conn]struct{}{},
		replyTo:   replyRegistry{m: map[string]*consumer{}},
		open:      openConns{perUser: map[string]int{}},
		spin:      newSpinPool(),
	}
	if t, ok := broker.(tallier); ok {
		s.tally = t.Tally().Face(message.FaceAMQP)
	}
	if cfg.Alarms != nil {
		s.alarmCancel = cfg.Alarms.Subscribe(s.onAlarm)
		s.onAlarm(cfg.Alarms.State())
	}
	return s
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("amqp: server closed")

// Serve accepts connections on ln until Close, serving each with one
// reader and one writer goroutine. It returns ErrServerClosed after Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.ServeConn(nc)
	}
}

// ServeConn serves one accepted connection in the background.
func (s *Server) ServeConn(nc net.Conn) {
	c := newConn(s, nc)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		c.serve()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
}

// Close stops the listeners, closes every connection with 320
// CONNECTION_FORCED, as RabbitMQ does on shutdown, and waits for them
// until ctx ends; then it drops the sockets.
func (s *Server) Close(ctx context.Context) error {
	if s.alarmCancel != nil {
		s.alarmCancel()
	}
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.closeConn(hardErr(amqp091.ConnectionForced, "broker forced connection closure with reason 'shutdown'"))
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range conns {
			c.nc.Close()
		}
		<-done
		return ctx.Err()
	}
}

// replyRegistry maps direct reply-to names to the channels consuming
// amq.rabbitmq.reply-to.
type replyRegistry struct {
	mu sync.Mutex // guards m
	m  map[string]*consumer
}

func (r *replyRegistry) add(key string, c *consumer) {
	r.mu.Lock()
	r.m[key] = c
	r.mu.Unlock()
}

func (r *replyRegistry) remove(key string) {
	r.mu.Lock()
	delete(r.m, key)
	r.mu.Unlock()
}

func (r *replyRegistry) get(key string) *consumer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[key]
}
