package mqtt

import (
	"sync"
	"sync/atomic"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// subsCache caches mochi's subscriber lookup per topic for copies.write,
// which runs it for every QoS 1/2 publish, and for mochi's fan-out of every
// publish (Options.SubscribersLookup, a patch of ours). A lookup walks the topic tree and copies
// every matching particle's subscription map; the cached result is shared
// read-only.
//
// Validity: gen counts changes to mochi's topic index. Every SUBSCRIBE and
// UNSUBSCRIBE bumps it before mochi changes the index (OnSubscribe,
// OnUnsubscribe) and after (OnSubscribed, OnUnsubscribed, which also covers
// a session's subscriptions removed at its end or expiry); an entry is used
// only while gen still has the value read before its lookup started, so a
// hit answers what a fresh lookup would. Results with shared subscriptions
// are not cached: the pick of a member mutates them.
type subsCache struct {
	gen atomic.Uint64

	mu sync.RWMutex // guards m
	m  map[string]subsEntry
}

type subsEntry struct {
	gen  uint64
	subs map[string]packets.Subscription
}

// maxSubsEntries bounds the cache; a full cache is cleared.
const maxSubsEntries = 4096

// invalidate marks every entry stale.
func (c *subsCache) invalidate() { c.gen.Add(1) }

// lookup returns the subscribers of topic: from the cache (subs.Shared is
// then empty and subs.Subscriptions must not be changed), or from mochi.
func (c *subsCache) lookup(topics *mochi.TopicsIndex, topic string) *mochi.Subscribers {
	gen := c.gen.Load()
	c.mu.RLock()
	e, ok := c.m[topic]
	c.mu.RUnlock()
	if ok && e.gen == gen {
		return &mochi.Subscribers{Subscriptions: e.subs}
	}
	subs := topics.Subscribers(topic)
	if len(subs.Shared) > 0 || len(subs.InlineSubscriptions) > 0 {
		return subs
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxSubsEntries {
		c.m = make(map[string]subsEntry)
	}
	c.m[topic] = subsEntry{gen: gen, subs: subs.Subscriptions}
	c.mu.Unlock()
	return subs
}
