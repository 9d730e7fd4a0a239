package mqtt

import (
	"sync"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/route"
)

// BridgeQueue is the name of each vhost's internal queue that carries
// messages from other faces to MQTT subscribers. It is durable, so that
// persistent messages waiting in it survive a crash or a restart; only the
// MQTT face consumes it.
const BridgeQueue = "amq.mqtt.bridge"

// bridge delivers messages published on other faces to MQTT subscribers.
//
// Per vhost with MQTT subscriptions, one durable queue (BridgeQueue) is
// bound to the MQTT exchange with each distinct subscribed filter mapped to
// a binding key, reference-counted over the subscriptions of every session
// (online or offline). The bindings carry a Matcher that refuses messages
// whose origin is MQTT: mochi has already delivered those to MQTT
// subscribers, so they never even enter the queue.
//
// Backpressure: the queue is consumed with manual acks and a prefetch
// Limiter of Config.BridgePrefetch. Deliver (called under the queue's lock)
// only hands the delivery to the vhost's injector goroutine over a channel
// with room for the whole window, so it never blocks; the injector publishes
// into mochi and then acks, which lets the next message out. A slow mochi
// therefore leaves messages in the core queue instead of dropping them.
//
// Restarts: the queue and its bindings are durable, and persistent
// messages in it are restored by the core. The core restores bindings
// without their Matcher (a Matcher is code, not data), so New re-binds
// every key of the restored sessions' subscriptions (a Bind with the same
// identity replaces the Matcher) and unbinds the restored keys no session
// subscribes to any more (reattach), before any MQTT client connects. Until
// then, inject drops a message from MQTT that a Matcher-less binding let in
// (none can arrive: the face publishes nothing before New returns).
type bridge struct {
	s *Server

	mu     sync.Mutex // guards vhosts, subs, closed
	vhosts map[string]*vhostBridge
	subs   map[string]*clientSubs // client id → its bridged filters
	closed bool

	wg      sync.WaitGroup // injector goroutines
	skipped atomic.Int64   // core messages whose key is no valid MQTT topic
}

// clientSubs are one session's subscriptions that have bindings.
type clientSubs struct {
	vhost   string
	filters map[string]string // subscription filter → binding key
}

// vhostBridge is the bridge of one vhost.
type vhostBridge struct {
	b    *bridge
	v    *core.Vhost
	q    *queue.Queue
	sub  *queue.Subscription
	refs map[string]int // binding key → subscriptions (guarded by bridge.mu)
	ch   chan queue.Delivery
	cl   *mochi.Client // the inline client that injects into mochi
	// roots are the vhost's topic roots in mochi's tree (vhost.go).
	roots vhostRoots
}

func newBridge(s *Server) *bridge {
	return &bridge{s: s, vhosts: map[string]*vhostBridge{}, subs: map[string]*clientSubs{}}
}

// notFromMQTT is the binding Matcher that keeps MQTT publishes out of the
// bridge queue.
type notFromMQTT struct{}

func (notFromMQTT) Match(m *message.Message) bool { return m.Origin != message.FaceMQTT }

// add records a subscription of a session in vhost and binds its key when
// it is the first subscription with that key.
//
// Filters may be rooted in their vhost or not (vhost.go).
func (b *bridge) add(clientID, vhost, filter string) {
	filter = userFilter(filter)
	f, ok := plainFilter(filter)
	if !ok || !bridgeable(f) {
		return
	}
	key := TopicToKey(f)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	cs := b.subs[clientID]
	if cs == nil || cs.vhost != vhost {
		if cs != nil {
			b.dropClientLocked(clientID)
		}
		cs = &clientSubs{vhost: vhost, filters: map[string]string{}}
		b.subs[clientID] = cs
	}
	if _, ok := cs.filters[filter]; ok {
		return
	}
	vb, err := b.vhostLocked(vhost)
	if err != nil {
		b.s.log.Warn("mqtt bridge unavailable", "vhost", vhost, "error", err)
		return
	}
	cs.filters[filter] = key
	vb.refs[key]++
	if vb.refs[key] == 1 {
		if err := vb.v.Bind(vb.binding(key)); err != nil {
			b.s.log.Warn("mqtt bridge bind failed", "vhost", vhost, "key", key, "error", err)
		}
	}
}

// remove forgets a subscription and unbinds its key with its last
// subscription.
func (b *bridge) remove(clientID, filter string) {
	filter = userFilter(filter)
	b.mu.Lock()
	defer b.mu.Unlock()
	cs := b.subs[clientID]
	if cs == nil {
		return
	}
	key, ok := cs.filters[filter]
	if !ok {
		return
	}
	delete(cs.filters, filter)
	if len(cs.filters) == 0 {
		delete(b.subs, clientID)
	}
	b.unrefLocked(cs.vhost, key)
}

// dropClientLocked forgets every subscription of a client.
func (b *bridge) dropClientLocked(clientID string) {
	cs := b.subs[clientID]
	delete(b.subs, clientID)
	for _, key := range cs.filters {
		b.unrefLocked(cs.vhost, key)
	}
}

func (b *bridge) unrefLocked(vhost, key string) {
	vb := b.vhosts[vhost]
	if vb == nil {
		return
	}
	vb.refs[key]--
	if vb.refs[key] > 0 {
		return
	}
	delete(vb.refs, key)
	if err := vb.v.Unbind(vb.binding(key)); err != nil {
		b.s.log.Warn("mqtt bridge unbind failed", "vhost", vhost, "key", key, "error", err)
	}
}

func (vb *vhostBridge) binding(key string) route.Binding {
	return route.Binding{
		Source:  vb.b.s.cfg.Exchange,
		Dest:    route.Dest{Kind: route.DestQueue, Name: BridgeQueue},
		Key:     key,
		Matcher: notFromMQTT{},
	}
}

// vhostLocked returns the bridge of a vhost, starting it on first use.
func (b *bridge) vhostLocked(name string) (*vhostBridge, error) {
	if vb := b.vhosts[name]; vb != nil {
		return vb, nil
	}
	v, err := b.s.b.Vhost(name)
	if err != nil {
		return nil, err
	}
	q, _, err := v.DeclareQueue(core.QueueDecl{Name: BridgeQueue, Durable: true})
	if err != nil {
		return nil, err
	}
	win := b.s.cfg.BridgePrefetch
	vb := &vhostBridge{b: b, v: v, q: q, refs: map[string]int{},
		ch: make(chan queue.Delivery, win), roots: rootsOf(name)}
	vb.cl = b.s.m.NewClient(nil, mochi.LocalListener, "junction-bridge:"+name, true)
	vb.cl.Properties.ProtocolVersion = 5
	vb.sub, err = q.Consume(vb, queue.ConsumeOptions{Tag: "mqtt-bridge",
		Limiters: []*queue.Limiter{queue.NewLimiter(win)}})
	if err != nil {
		return nil, err
	}
	b.vhosts[name] = vb
	b.wg.Add(1)
	go vb.inject()
	return vb, nil
}

// Deliver hands a message to the injector. The Limiter keeps at most
// len(ch) deliveries unacknowledged, so the send never blocks.
func (vb *vhostBridge) Deliver(d queue.Delivery) {
	vb.ch <- d
}

// inject publishes the bridge queue's messages into mochi, acking each once
// mochi has queued it for every matching session.
func (vb *vhostBridge) inject() {
	defer vb.b.wg.Done()
	for d := range vb.ch {
		topic := KeyToTopic(d.Msg.RoutingKey)
		switch {
		case d.Msg.Origin == message.FaceMQTT:
			// mochi delivered it already; only a binding without the
			// Matcher could let it in.
		case validTopicName(topic):
			pk := fromCore(d.Msg, vb.roots.topic(topic), time.Now())
			if err := vb.b.s.m.InjectPacket(vb.cl, pk); err != nil {
				vb.b.s.log.Warn("mqtt bridge inject failed", "topic", topic, "error", err)
			}
		default:
			vb.b.skipped.Add(1)
		}
		_ = vb.q.Ack(d.Seq)
	}
}

// close stops the injectors. The bridge queues and their bindings stay:
// messages published meanwhile wait there for the next start.
func (b *bridge) close() {
	b.mu.Lock()
	b.closed = true
	vbs := b.vhosts
	b.vhosts = map[string]*vhostBridge{}
	b.mu.Unlock()
	for _, vb := range vbs {
		_ = vb.q.Cancel(vb.sub) // no Deliver after Cancel returns; unacked ones are requeued
		close(vb.ch)
	}
	b.wg.Wait()
}

// reattach starts the bridge of every vhost whose bridge queue the core
// restored (its messages are delivered even if no session subscribes any
// more) and removes the restored bindings no subscription needs; the keys
// add bound again carry their Matcher once more.
func (b *bridge) reattach() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, v := range b.s.b.Vhosts() {
		if _, err := v.Queue(BridgeQueue); err != nil {
			continue
		}
		vb, err := b.vhostLocked(v.Name())
		if err != nil {
			return err
		}
		for _, bd := range v.Routes().Bindings() {
			if bd.Dest != (route.Dest{Kind: route.DestQueue, Name: BridgeQueue}) {
				continue
			}
			if bd.Source == b.s.cfg.Exchange && vb.refs[bd.Key] > 0 {
				if bd.Matcher == nil { // add bound it before the queue was restored
					err = v.Bind(vb.binding(bd.Key))
				}
			} else {
				err = v.Unbind(bd)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// OnSubscribed binds the keys of granted subscriptions.
func (h *faceHook) OnSubscribed(cl *mochi.Client, pk packets.Packet, codes []byte) {
	h.s.subs.invalidate() // subcache.go
	if cl.Net.Inline {
		return
	}
	vhost, _ := h.s.identity(cl)
	for i, f := range pk.Filters {
		if i < len(codes) && codes[i] < packets.ErrUnspecifiedError.Code {
			h.s.br.add(cl.ID, vhost, f.Filter)
		}
	}
}

// OnUnsubscribed unbinds the keys of removed subscriptions (an UNSUBSCRIBE,
// a clean session ending, a session taken over with clean start).
func (h *faceHook) OnUnsubscribed(cl *mochi.Client, pk packets.Packet) {
	h.s.subs.invalidate() // subcache.go
	for _, f := range pk.Filters {
		h.s.br.remove(cl.ID, f.Filter)
	}
}

// OnClientExpired removes an expired session's subscriptions, which mochi
// leaves in its topic index.
func (h *faceHook) OnClientExpired(cl *mochi.Client) {
	h.s.m.UnsubscribeClient(cl)
}

// restored binds the subscriptions of sessions loaded from the store, then
// re-attaches the restored bridge queues (reattach).
func (s *Server) restored() error {
	for _, cl := range s.m.Clients.GetAll() {
		if cl.Net.Inline {
			continue
		}
		vhost, _ := s.identity(cl)
		for filter := range cl.State.Subscriptions.GetAll() {
			s.br.add(cl.ID, vhost, filter)
		}
	}
	return s.br.reattach()
}
