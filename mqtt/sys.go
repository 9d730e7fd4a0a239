package mqtt

import (
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// $SYS topics. mochi publishes its own $SYS values on a ticker, with its
// own version and some figures that go stale (subscriptions and retained
// messages restored from the store are not counted). The face turns that
// ticker off (mochiSysInterval: mochi publishes once, when New starts it)
// and publishes every Config.SysInterval, retained, the topics under the
// names Mosquitto uses, with Junction's version and figures computed from
// the server's state, plus mochi's other names with the same figures so
// that none of them is left stale. The publishes go through an inline
// client: they never reach the core, and the storage hook does not persist
// them (state.go, OnRetainMessage).

// mochiSysInterval is mochi's own $SYS interval in seconds: about 68
// years, so its ticker never fires.
const mochiSysInterval = 1<<31 - 1

// SysPrefix is the prefix of the broker's status topics.
const SysPrefix = "$SYS"

// sysPublisher publishes the $SYS topics on a ticker.
type sysPublisher struct {
	s        *Server
	cl       *mochi.Client
	started  time.Time
	injected atomic.Int64 // $SYS publishes, which mochi counts as received
	stop     chan struct{}
	wg       sync.WaitGroup
}

func newSysPublisher(s *Server) *sysPublisher {
	cl := s.m.NewClient(nil, mochi.LocalListener, "junction-sys", true)
	cl.Properties.ProtocolVersion = 4
	return &sysPublisher{s: s, cl: cl, started: time.Now(), stop: make(chan struct{})}
}

// start publishes the topics now and then every Config.SysInterval until
// close.
func (p *sysPublisher) start() {
	p.publish()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(p.s.cfg.SysInterval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.publish()
			}
		}
	}()
}

func (p *sysPublisher) close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.wg.Wait()
}

// topics returns the $SYS topics and their values now.
func (p *sysPublisher) topics() map[string]string {
	st := p.s.Stats()
	in := p.s.m.Info
	now := time.Now()
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	up := i(int64(now.Sub(p.started) / time.Second))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return map[string]string{
		// Mosquitto's names and formats.
		SysPrefix + "/broker/version":                  p.s.cfg.Version,
		SysPrefix + "/broker/uptime":                   up + " seconds",
		SysPrefix + "/broker/clients/connected":        i(st.Connected),
		SysPrefix + "/broker/clients/disconnected":     i(st.Sessions - st.Connected),
		SysPrefix + "/broker/clients/total":            i(st.Sessions),
		SysPrefix + "/broker/clients/maximum":          i(atomic.LoadInt64(&in.ClientsMaximum)),
		SysPrefix + "/broker/messages/received":        i(st.MessagesIn),
		SysPrefix + "/broker/messages/sent":            i(st.MessagesOut),
		SysPrefix + "/broker/subscriptions/count":      i(st.Subscriptions),
		SysPrefix + "/broker/retained messages/count":  i(st.Retained),
		SysPrefix + "/broker/load/bytes/received":      i(st.BytesReceived),
		SysPrefix + "/broker/load/bytes/sent":          i(st.BytesSent),
		SysPrefix + "/broker/store/messages/count":     i(atomic.LoadInt64(&in.Inflight)),
		SysPrefix + "/broker/publish/messages/dropped": i(st.MessagesDropped + st.InflightDropped),
		// mochi's other names (published once by mochi at start).
		SysPrefix + "/broker/time":              i(now.Unix()),
		SysPrefix + "/broker/started":           i(p.started.Unix()),
		SysPrefix + "/broker/packets/received":  i(atomic.LoadInt64(&in.PacketsReceived) - p.injected.Load()),
		SysPrefix + "/broker/packets/sent":      i(atomic.LoadInt64(&in.PacketsSent)),
		SysPrefix + "/broker/messages/dropped":  i(st.MessagesDropped + st.InflightDropped),
		SysPrefix + "/broker/messages/inflight": i(atomic.LoadInt64(&in.Inflight)),
		SysPrefix + "/broker/retained":          i(st.Retained),
		SysPrefix + "/broker/subscriptions":     i(st.Subscriptions),
		SysPrefix + "/broker/system/memory":     i(int64(ms.HeapInuse)),
		SysPrefix + "/broker/system/threads":    i(int64(runtime.NumGoroutine())),
	}
}

// publish publishes every topic, retained, to the current subscribers.
func (p *sysPublisher) publish() {
	now := time.Now().Unix()
	for topic, v := range p.topics() {
		pk := packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true},
			TopicName:   topic,
			Payload:     []byte(v),
			Created:     now,
		}
		p.injected.Add(1) // before: Stats may run meanwhile
		if err := p.s.m.InjectPacket(p.cl, pk); err != nil {
			p.injected.Add(-1)
			p.s.log.Debug("mqtt $SYS publish failed", "topic", topic, "error", err)
		}
	}
}

// isSys reports whether topic is a $SYS topic.
func isSys(topic string) bool {
	return len(topic) >= len(SysPrefix) && topic[:len(SysPrefix)] == SysPrefix
}

// subscriptionCount is the number of subscriptions of every session.
func (s *Server) subscriptionCount() int64 {
	var n int64
	for _, cl := range s.m.Clients.GetAll() {
		n += int64(cl.State.Subscriptions.Len())
	}
	return n
}
