package core

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/store"
	"github.com/junctionmq/junction/core/stream"
	"github.com/junctionmq/junction/core/tally"
)

// Config configures a Broker.
type Config struct {
	// Store is the durable store (persist.DB). Required.
	Store store.Store
	// Auth configures the user store (its KeyFile is required).
	Auth auth.Options
	// Clock drives TTLs, delays, leases and expiry; nil means the wall clock.
	Clock queue.Clock
	// Logger receives the core's logs; nil means slog.Default().
	Logger *slog.Logger
	// MaxQueuesPerVhost bounds the queues (AMQP stream queues included,
	// Kinesis streams not) a vhost may hold, as a RabbitMQ vhost limit
	// max-queues set on every vhost: past it a declare fails with
	// ErrQueueLimit (kind ErrPrecondition). 0: no limit. Queues recovered
	// at boot are not refused.
	MaxQueuesPerVhost int
}

// Broker is the core: vhosts of exchanges, bindings, queues and streams, and
// the user store, recovered from and persisted to the store. Every face talks
// to it and to nothing else of the core.
type Broker struct {
	st        store.Store
	users     *auth.Store
	clock     queue.Clock
	log       *slog.Logger
	retain    *stream.Retainer
	nextID    atomic.Uint64 // last message id handed out
	counters  counters      // message totals (inspect.go)
	tally     tally.Faces   // per-face delivered, acked and dropped (Tally)
	maxQueues int           // Config.MaxQueuesPerVhost
	conns     connCounts    // open connections per user and vhost (conns.go)
	closing   atomic.Bool
	pager     pager // pages transient messages out under memory pressure (pressure.go)

	mu     sync.RWMutex // guards vhosts
	vhosts map[string]*Vhost
}

// Open recovers a Broker from cfg.Store: users and vhosts, then each vhost's
// exchanges, queues (with their messages) and bindings.
func Open(cfg Config) (*Broker, error) {
	if cfg.Store == nil {
		return nil, errors.New("core: no store")
	}
	b := &Broker{st: cfg.Store, clock: cfg.Clock, log: cfg.Logger, vhosts: map[string]*Vhost{}, maxQueues: cfg.MaxQueuesPerVhost}
	if b.clock == nil {
		b.clock = queue.SystemClock{}
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	// Message ids must never repeat across restarts (the store keys stored
	// messages by id): start from the clock in nanoseconds, which no
	// earlier run can have reached by counting one per message.
	b.nextID.Store(uint64(time.Now().UnixNano()))
	users, err := auth.Open(cfg.Store, cfg.Auth)
	if err != nil {
		return nil, fmt.Errorf("core: user store: %w", err)
	}
	b.users = users
	b.retain = stream.NewRetainer(time.Minute, b.clock.Now)
	b.retain.Start()
	for _, vh := range users.Vhosts() {
		b.vhosts[vh.Name] = newVhost(b, vh.Name)
	}
	if err := b.recover(); err != nil {
		b.retain.Close()
		return nil, err
	}
	for _, v := range b.vhosts {
		v.ApplyPolicies() // recovered queues have theirs; exchanges get theirs here
	}
	return b, nil
}

// Users returns the user store (users, permissions, policies, access keys).
// Change policies through the Broker (PutPolicy and the like), which
// applies them to existing queues and exchanges, or run
// Vhost.ApplyPolicies after changing them here.
func (b *Broker) Users() *auth.Store { return b.users }

// Store returns the durable store.
func (b *Broker) Store() store.Store { return b.st }

// Clock returns the broker's clock.
func (b *Broker) Clock() queue.Clock { return b.clock }

// Vhost returns a vhost by name.
func (b *Broker) Vhost(name string) (*Vhost, error) {
	b.mu.RLock()
	v := b.vhosts[name]
	b.mu.RUnlock()
	if v == nil {
		return nil, errorf(ErrNotFound, "no vhost '%s'", name)
	}
	return v, nil
}

// Vhosts lists the vhosts by name.
func (b *Broker) Vhosts() []*Vhost {
	b.mu.RLock()
	out := make([]*Vhost, 0, len(b.vhosts))
	for _, v := range b.vhosts {
		out = append(out, v)
	}
	b.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// AddVhost creates a vhost (in the user store and in the router); an
// existing one is returned unchanged, and a vhost the user store already
// has (a definitions import) keeps its description and tags.
func (b *Broker) AddVhost(name string) (*Vhost, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if v := b.vhosts[name]; v != nil {
		return v, nil
	}
	if !b.users.VhostExists(name) { // keep the metadata of one the user store has
		if err := b.users.PutVhost(auth.Vhost{Name: name}); err != nil {
			return nil, classify(err)
		}
	}
	v := newVhost(b, name)
	b.vhosts[name] = v
	return v, nil
}

// DeleteVhost deletes a vhost with everything in it.
func (b *Broker) DeleteVhost(name string) error {
	b.mu.Lock()
	v := b.vhosts[name]
	delete(b.vhosts, name)
	b.mu.Unlock()
	if v == nil {
		return errorf(ErrNotFound, "no vhost '%s'", name)
	}
	v.deleteAll()
	return classify(b.users.DeleteVhost(name))
}

// Close stops the broker's timers and its pager. It does not close the
// store, which its opener owns; faces must be shut down first.
func (b *Broker) Close() error {
	if b.closing.Swap(true) {
		return nil
	}
	b.retain.Close()
	b.stopPager()
	return nil
}

func (b *Broker) newID() uint64 { return b.nextID.Add(1) }
