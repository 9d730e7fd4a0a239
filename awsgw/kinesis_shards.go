package awsgw

import (
	"strings"
	"sync"
	"time"

	"github.com/junctionmq/junction/core/stream"
)

// Resharding (SplitShard, MergeShards, UpdateShardCount) and the per-shard
// throughput limits. Resharding is done by the core's Partitioned.Split
// and Merge: the parent is sealed (closed, with an EndingSequenceNumber)
// and stays readable until retention empties it; children name their
// parents. It completes before the call returns.

func (k *kinesisService) splitShard(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 'c')
	if aerr != nil {
		return nil, aerr
	}
	id := p.str("ShardToSplit")
	part, aerr := partitionOf(t, id)
	if aerr != nil {
		return nil, errShardNotFound(id, t.name, t.account)
	}
	r, hk := part.Range(), p.str("NewStartingHashKey")
	key, err := stream.ParseHashKey(hk)
	if err != nil || key.Cmp(r.Start.Add1()) <= 0 || key.Cmp(r.End) >= 0 {
		return nil, errKinesisInvalidArg("NewStartingHashKey %s used in SplitShard() on shard %s in stream %s under account %s "+
			"is not both greater than one plus the shard's StartingHashKey %s and less than the shard's EndingHashKey %s.",
			hk, part.ID(), t.name, t.account, r.Start, r.End)
	}
	if part.Info().EndOffset != nil {
		return nil, errShardClosed(part.ID(), t.name, t.account)
	}
	if open := k.openShards(t.vhost.Name(), ""); open+1 > accountShardLimit {
		return nil, errShardLimit(t.account, req.id4.region, open, accountShardLimit, 1)
	}
	if _, _, err := t.ps.Split(part.ID(), key); err != nil {
		return nil, kinesisError(err, t.name, t.account)
	}
	return nil, k.saveShards(t)
}

func (k *kinesisService) saveShards(t *kstream) *apiError {
	if err := t.ps.Save(); err != nil {
		return errInternal()
	}
	return nil
}

func (k *kinesisService) mergeShards(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 'c')
	if aerr != nil {
		return nil, aerr
	}
	var parts [2]*stream.Partition
	for i, name := range []string{"ShardToMerge", "AdjacentShardToMerge"} {
		id := p.str(name)
		if parts[i], aerr = partitionOf(t, id); aerr != nil {
			return nil, errShardNotFound(id, t.name, t.account)
		}
	}
	for _, part := range parts {
		if part.Info().EndOffset != nil {
			return nil, errShardClosed(part.ID(), t.name, t.account)
		}
	}
	if parts[0].Range().End.Add1() != parts[1].Range().Start {
		return nil, errKinesisInvalidArg("Shards %s and %s in stream %s under account %s are not an adjacent pair of shards eligible for merging",
			parts[0].ID(), parts[1].ID(), t.name, t.account)
	}
	if _, err := t.ps.Merge(parts[0].ID(), parts[1].ID()); err != nil {
		return nil, kinesisError(err, t.name, t.account)
	}
	return nil, k.saveShards(t)
}

// updateShardCount reshards to TargetShardCount shards of even ranges
// (UNIFORM_SCALING): it splits open shards at every boundary of the even
// ranges they lack, then merges the shards inside each even range.
func (k *kinesisService) updateShardCount(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 'c')
	if aerr != nil {
		return nil, aerr
	}
	target, _ := p.int("TargetShardCount")
	cur := len(t.ps.OpenPartitions())
	if int(target) > 2*cur || int(target)*2 < cur {
		return nil, kerr("LimitExceededException", "UpdateShardCount failed for stream %s under account %s: "+
			"the target shard count %d must be between half and double the current open shard count %d.",
			t.name, t.account, target, cur)
	}
	if open := k.openShards(t.vhost.Name(), t.name); open+int(target) > accountShardLimit {
		return nil, errShardLimit(t.account, req.id4.region, open+cur, accountShardLimit, int(target)-cur)
	}
	goal, err := stream.EvenRanges(int(target))
	if err != nil {
		return nil, errInternal()
	}
	for _, g := range goal[1:] {
		for _, part := range t.ps.OpenPartitions() {
			r := part.Range()
			if g.Start.Cmp(r.Start.Add1()) > 0 && g.Start.Cmp(r.End) < 0 {
				if _, _, err := t.ps.Split(part.ID(), g.Start); err != nil {
					return nil, kinesisError(err, t.name, t.account)
				}
				break
			}
		}
	}
	if aerr := k.mergeWithin(t, goal); aerr != nil {
		return nil, aerr
	}
	if aerr := k.saveShards(t); aerr != nil {
		return nil, aerr
	}
	return &struct {
		StreamName, StreamARN               string
		CurrentShardCount, TargetShardCount int
	}{t.name, t.arn(req), cur, int(target)}, nil
}

// mergeWithin merges neighbouring open shards that start in the same goal
// range until each goal range has one shard.
func (k *kinesisService) mergeWithin(t *kstream, goal []stream.HashRange) *apiError {
	group := func(h stream.Uint128) int {
		for i, g := range goal {
			if g.Contains(h) {
				return i
			}
		}
		return -1
	}
	for merged := true; merged; {
		merged = false
		open := t.ps.OpenPartitions()
		for i := 0; i+1 < len(open); i++ {
			if group(open[i].Range().Start) == group(open[i+1].Range().Start) {
				if _, err := t.ps.Merge(open[i].ID(), open[i+1].ID()); err != nil {
					return kinesisError(err, t.name, t.account)
				}
				merged = true
				break
			}
		}
	}
	return nil
}

// Per-shard limits, as AWS enforces them.
const (
	limitPutRecords = 1000    // records/s in
	limitPutBytes   = 1 << 20 // bytes/s in
	limitGetCalls   = 5       // GetRecords/s
	limitGetBytes   = 2 << 20 // bytes/s out
	// limitFanoutBytes is what SubscribeToShard pushes per registered
	// consumer and shard, besides the shard's shared GetRecords limit.
	limitFanoutBytes = 2 << 20 // bytes/s
)

// limiter holds a token bucket per shard, and one per consumer and shard
// for SubscribeToShard.
type limiter struct {
	mu      sync.Mutex // guards buckets, fanout and their contents
	buckets map[string]*bucket
	fanout  map[string]*fanoutBucket
}

// fanoutBucket is one consumer's SubscribeToShard allowance on a shard:
// up to limitFanoutBytes, refilled at limitFanoutBytes per second. It
// never goes negative: an event is sent only when it is paid for.
type fanoutBucket struct {
	last   time.Time
	tokens float64
	sent   int64 // bytes charged in all (for tests and metrics)
}

// fanoutBucket refills and returns the bucket of key. Call with mu held.
func (l *limiter) fanoutBucket(key string, now time.Time) *fanoutBucket {
	b := l.fanout[key]
	if b == nil {
		if l.fanout == nil {
			l.fanout = map[string]*fanoutBucket{}
		}
		b = &fanoutBucket{last: now, tokens: limitFanoutBytes}
		l.fanout[key] = b
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(limitFanoutBytes, b.tokens+dt*limitFanoutBytes)
		b.last = now
	}
	return b
}

// fanoutAvail returns the bytes consumer key may be sent now.
func (l *limiter) fanoutAvail(key string, now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.fanoutBucket(key, now).tokens)
}

// fanoutCharge takes n bytes from key's allowance; it reports false,
// taking nothing, if they are not all there.
func (l *limiter) fanoutCharge(key string, n int, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.fanoutBucket(key, now)
	if float64(n) > b.tokens {
		return false
	}
	b.tokens -= float64(n)
	b.sent += int64(n)
	return true
}

// bucket is one shard's allowance. Out bytes may go negative: a large
// GetRecords is served, and the next calls wait until the shard's
// 2 MiB/s has paid for it, as AWS does.
type bucket struct {
	last                         time.Time
	recs, inBytes, calls, outByt float64
}

func (l *limiter) get(key string, now time.Time) *bucket {
	b := l.buckets[key]
	if b == nil {
		b = &bucket{last: now, recs: limitPutRecords, inBytes: limitPutBytes, calls: limitGetCalls, outByt: limitGetBytes}
		l.buckets[key] = b
	}
	dt := now.Sub(b.last).Seconds()
	if dt > 0 {
		b.recs = min(limitPutRecords, b.recs+dt*limitPutRecords)
		b.inBytes = min(limitPutBytes, b.inBytes+dt*limitPutBytes)
		b.calls = min(limitGetCalls, b.calls+dt*limitGetCalls)
		b.outByt = min(limitGetBytes, b.outByt+dt*limitGetBytes)
		b.last = now
	}
	return b
}

// drop forgets the buckets of a deleted stream (keys under prefix).
func (l *limiter) drop(prefix string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for key := range l.buckets {
		if strings.HasPrefix(key, prefix) {
			delete(l.buckets, key)
		}
	}
	for key := range l.fanout {
		if strings.HasPrefix(key, prefix) {
			delete(l.fanout, key)
		}
	}
}

// dropFanout forgets a deregistered consumer's fan-out buckets (keys
// under prefix, its stream's, ending with suffix).
func (l *limiter) dropFanout(prefix, suffix string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for key := range l.fanout {
		if strings.HasPrefix(key, prefix) && strings.HasSuffix(key, suffix) {
			delete(l.fanout, key)
		}
	}
}

func shardKey(t *kstream, shard string) string {
	return t.vhost.Name() + "\x00" + t.name + "\x00" + shard
}

// admitPut takes one record of size bytes from a shard's write allowance.
func (k *kinesisService) admitPut(t *kstream, shard string, size int, now time.Time) bool {
	if k.noLimits {
		return true
	}
	k.lim.mu.Lock()
	defer k.lim.mu.Unlock()
	b := k.lim.get(shardKey(t, shard), now)
	if b.recs < 1 || b.inBytes < float64(size) {
		return false
	}
	b.recs--
	b.inBytes -= float64(size)
	return true
}

// admitGet takes one GetRecords call from a shard's read allowance.
func (k *kinesisService) admitGet(t *kstream, shard string, now time.Time) bool {
	if k.noLimits {
		return true
	}
	k.lim.mu.Lock()
	defer k.lim.mu.Unlock()
	b := k.lim.get(shardKey(t, shard), now)
	if b.calls < 1 || b.outByt <= 0 {
		return false
	}
	b.calls--
	return true
}

// chargeGet takes the bytes a GetRecords returned.
func (k *kinesisService) chargeGet(t *kstream, shard string, n int) {
	if k.noLimits {
		return
	}
	k.lim.mu.Lock()
	defer k.lim.mu.Unlock()
	if b := k.lim.buckets[shardKey(t, shard)]; b != nil {
		b.outByt -= float64(n)
	}
}
