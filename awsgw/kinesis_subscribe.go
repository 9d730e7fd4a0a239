package awsgw

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/stream"
)

// SubscribeToShard: enhanced fan-out. A registered consumer subscribes
// to one shard and the gateway pushes the shard's records to it as
// SubscribeToShardEvent messages of an AWS event stream (see
// kinesis_subscribe_wire.go) in the body of one long HTTP response: over
// HTTP/2 as AWS serves it (TLS with ALPN h2, or cleartext h2c with prior
// knowledge on the plain port), and HTTP/1.1 works as well. Records are
// pushed as they become durable: the loop waits on the shard's core
// stream (Notify), never polls. Unless limits are off, each consumer
// gets at most 2 MiB/s per shard, as on AWS: a token bucket per consumer
// and shard (limiter.fanout) pays for each event before it is sent, and
// a subscription behind waits for it to refill.
//
// As AWS: the first message is the initial-response event; a
// subscription lasts 5 minutes, then the response ends; a consumer has
// one subscription per shard: a second within 5 seconds of the first is
// refused with ResourceInUseException, a later one takes over and the
// first ends with a ResourceInUseException event. Errors found before
// the stream starts (validation, unknown consumer or shard, bad starting
// position) are plain HTTP 400 errors; errors after it are exception
// events.

// Subscription timing; variables so that tests can shorten them.
var (
	subscriptionLifetime atomic.Int64 // nanoseconds a subscription lasts
	subscribeHeartbeat   atomic.Int64 // nanoseconds between events when idle
)

func init() {
	subscriptionLifetime.Store(int64(5 * time.Minute))
	subscribeHeartbeat.Store(int64(5 * time.Second))
	kinesisSchemas["SubscribeToShard"] = []field{
		{name: "ConsumerARN", typ: tString, checks: []check{notNull(), regex(consARNRe), minLen(1), maxLen(2048)}},
		shardField("ShardId", true),
		{name: "StartingPosition", typ: tStruct, checks: []check{notNull()}, members: []field{
			{name: "Type", typ: tString, checks: []check{notNull(), enum("AT_SEQUENCE_NUMBER",
				"AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")}},
			{name: "SequenceNumber", typ: tString, checks: []check{regex(seqRe)}},
			{name: "Timestamp", typ: tTimestamp}}},
	}
}

const (
	// subscribeTakeover is how long a subscription holds its consumer and
	// shard against a new one.
	subscribeTakeover = 5 * time.Second
	// subscribeMaxRecords and subscribeMaxBytes bound one event.
	subscribeMaxRecords = 10000
	subscribeMaxBytes   = 1 << 20
)

// subKey names a subscription: a consumer (by ARN) and a shard.
type subKey struct{ consumer, shard string }

// subscription is an active SubscribeToShard.
type subscription struct {
	key     subKey
	started time.Time
	stop    chan struct{} // closed when a newer subscription takes over
}

// subRegistry holds the active subscriptions; the zero value is ready.
type subRegistry struct {
	mu sync.Mutex
	m  map[subKey]*subscription
}

// acquire registers a subscription for key, ending an older one started
// at least subscribeTakeover ago; it fails if a younger one holds key.
func (r *subRegistry) acquire(key subKey, now time.Time) (*subscription, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.m[key]; old != nil {
		if now.Sub(old.started) < subscribeTakeover {
			return nil, false
		}
		close(old.stop)
	}
	if r.m == nil {
		r.m = map[subKey]*subscription{}
	}
	s := &subscription{key: key, started: now, stop: make(chan struct{})}
	r.m[key] = s
	return s, true
}

// release drops s unless a newer subscription replaced it.
func (r *subRegistry) release(s *subscription) {
	r.mu.Lock()
	if r.m[s.key] == s {
		delete(r.m, s.key)
	}
	r.mu.Unlock()
}

// subscribeToShard serves one SubscribeToShard call.
func (s *Server) subscribeToShard(w http.ResponseWriter, req *request) {
	sess, aerr := s.kin.startSubscription(req, &s.kinSubs)
	if aerr != nil {
		s.writeError(w, req, aerr)
		return
	}
	defer s.kinSubs.release(sess.sub)
	sess.w, sess.rc = w, http.NewResponseController(w)
	sess.serve()
}

// subSession is one subscription being served.
type subSession struct {
	k        *kinesisService
	req      *request
	t        *kstream
	part     *stream.Partition
	off      uint64 // the next offset to push
	sub      *subscription
	limitKey string // the consumer's fan-out bucket on this shard
	w        http.ResponseWriter
	rc       *http.ResponseController
}

// startSubscription checks a request and registers its subscription.
func (k *kinesisService) startSubscription(req *request, reg *subRegistry) (*subSession, *apiError) {
	raw, aerr := decodeKinesisBody(req.proto, req.body)
	if aerr != nil {
		return nil, aerr
	}
	schema := kinesisSchemas["SubscribeToShard"]
	m, aerr := checkMembers(raw, schema)
	if aerr != nil {
		return nil, aerr
	}
	p := params(m)
	if aerr := validateKinesis(p, schema); aerr != nil {
		return nil, aerr
	}
	arn := p.str("ConsumerARN")
	t, c, aerr := k.findConsumer(req, params{"ConsumerARN": arn}, 'r')
	if aerr == nil && consumerOut(req, t, c, false).ConsumerARN != arn {
		aerr = kerr("ResourceNotFoundException", "Consumer %s not found.", arn) // an earlier registration
	}
	if aerr != nil {
		return nil, aerr
	}
	part, aerr := partitionOf(t, p.str("ShardId"))
	if aerr != nil {
		return nil, aerr
	}
	pos := p.sub("StartingPosition")
	start := params{"ShardIteratorType": pos.str("Type"), "StartingSequenceNumber": pos.str("SequenceNumber")}
	if ts, ok := pos.time("Timestamp"); ok {
		start["Timestamp"] = ts
	}
	off, aerr := k.iteratorStart(t, part, start)
	if aerr != nil {
		return nil, aerr
	}
	sub, ok := reg.acquire(subKey{arn, part.ID()}, k.now())
	if !ok {
		return nil, kerr("ResourceInUseException", "Another active subscription exists for this consumer: %s", arn)
	}
	return &subSession{k: k, req: req, t: t, part: part, off: off, sub: sub,
		limitKey: shardKey(t, part.ID()) + fanoutSuffix(c)}, nil
}

// fanoutSuffix ends the keys of consumer c's fan-out buckets (one per
// shard): its name and registration time, the same whatever region its
// ARN was given in.
func fanoutSuffix(c consumer) string {
	return "\x00" + c.Name + ":" + strconv.FormatInt(c.Created, 10)
}

// kSubscribeEvent is a SubscribeToShardEvent's payload.
type kSubscribeEvent struct {
	Records                    []kRecord
	ContinuationSequenceNumber *string
	MillisBehindLatest         int64
	ChildShards                []kChildShard `json:",omitempty"`
}

// closedCh is always ready: the loop's wake-up when records remain.
var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// serve streams events until the subscription ends: its lifetime is
// over, the client left, the server shuts down, a newer subscription
// took over, the shard's end was sent, or an error was sent as an
// exception event.
func (x *subSession) serve() {
	x.w.Header().Set("Content-Type", ctEventStream)
	x.w.WriteHeader(http.StatusOK)
	initial, err := eventFrame(x.req.proto, "initial-response", struct{}{})
	if err != nil || !x.write(initial) {
		return
	}
	lifetime := time.NewTimer(time.Duration(subscriptionLifetime.Load()))
	defer lifetime.Stop()
	beat := time.Duration(subscribeHeartbeat.Load())
	heartbeat := time.NewTimer(beat)
	defer heartbeat.Stop()
	force := true // AWS sends a first event at once, records or not
	throttle := time.NewTimer(time.Hour)
	throttle.Stop()
	defer throttle.Stop()
	for {
		wake := x.part.Stream().Notify() // armed before reading: no change is missed
		sent, more, wait, end, ok := x.push(force)
		if !ok || end {
			return
		}
		if sent {
			heartbeat.Reset(beat)
		}
		force = false
		var paid <-chan time.Time
		switch {
		case wait > 0: // over the consumer's 2 MiB/s: wait until it is paid for
			throttle.Reset(wait)
			paid = throttle.C
		case more:
			wake = closedCh
		}
		select {
		case <-wake:
		case <-paid:
		case <-heartbeat.C:
			force = true
			heartbeat.Reset(beat)
		case <-lifetime.C:
			return
		case <-x.req.ctx.Done():
			return
		case <-x.sub.stop:
			x.write(exceptionFrame(x.req.proto, kerr("ResourceInUseException",
				"Another active subscription exists for this consumer: %s", x.sub.key.consumer)))
			return
		}
		throttle.Stop() // since Go 1.23 a stopped timer delivers no stale tick
	}
}

// push sends the records from x.off as one event, if there are any or
// force is set. sent tells an event went out, more that records remain,
// wait (> 0) that records remain but the consumer's fan-out allowance
// does not pay for them yet, end that the shard's end was sent, ok false
// that the stream is over (a write failed or an exception was sent).
func (x *subSession) push(force bool) (sent, more bool, wait time.Duration, end, ok bool) {
	st, now := x.part.Stream(), x.k.now()
	recs, next, wait, err := x.read(st, now)
	if err != nil {
		x.write(exceptionFrame(x.req.proto, kinesisError(err, x.t.name, x.t.account)))
		return false, false, 0, false, false
	}
	ev := &kSubscribeEvent{Records: make([]kRecord, 0, len(recs))}
	epoch, idx := x.t.epoch(), shardIndex(x.part.ID())
	cutoff := now.Add(-time.Duration(x.t.meta.Retention) * time.Hour).UnixNano()
	for i := range recs {
		if recs[i].Arrived >= cutoff {
			ev.Records = append(ev.Records, recordOf(&recs[i], recordSeq(epoch, idx, recs[i].Offset), x.t.meta.Encryption))
		}
	}
	x.off = next
	if e := x.part.Info().EndOffset; e != nil && next >= *e {
		ev.ChildShards, end = childShards(x.t.ps, x.part.ID()), true
	} else {
		cont := kinesisSeq(epoch, idx, next) // after the last record pushed: resume AFTER it
		ev.ContinuationSequenceNumber = &cont
		_, last := st.Bounds()
		if more = next < last; more {
			if head, _, err := st.Read(next, 1, 0); err == nil && len(head) == 1 {
				ev.MillisBehindLatest = max(0, now.Sub(time.Unix(0, head[0].Arrived)).Milliseconds())
			}
		}
	}
	if len(ev.Records) == 0 && !force && !end {
		return false, more, wait, false, true
	}
	frame, err := eventFrame(x.req.proto, "SubscribeToShardEvent", ev)
	if err != nil {
		x.write(exceptionFrame(x.req.proto, kerr("InternalFailureException", "Internal service failure.")))
		return false, false, 0, false, false
	}
	ok = x.write(frame)
	if ok {
		x.k.b.Tally().Face(message.FaceKinesis).Delivered(len(ev.Records))
	}
	return true, more, wait, end, ok
}

// fanoutMinWait and fanoutMaxWait bound a throttled subscription's sleep
// (the allowance is checked again after it).
const (
	fanoutMinWait = 10 * time.Millisecond
	fanoutMaxWait = time.Second
)

// read reads the records of the next event from x.off: up to 1 MiB, and
// unless limits are off, no more than the consumer's fan-out allowance
// pays for (each record costs its stored size, which is more than its
// data and partition key), which it charges. When records remain that
// the allowance does not pay for, it returns none of them and how long
// to wait.
func (x *subSession) read(st *stream.Stream, now time.Time) ([]stream.Record, uint64, time.Duration, error) {
	if x.k.noLimits {
		recs, next, err := st.Read(x.off, subscribeMaxRecords, subscribeMaxBytes)
		return recs, next, 0, err
	}
	avail := x.k.lim.fanoutAvail(x.limitKey, now)
	need := 64 << 10 // unknown: wait for a useful amount
	if avail > 0 {
		recs, next, err := st.Read(x.off, subscribeMaxRecords, min(subscribeMaxBytes, avail))
		if err != nil || len(recs) == 0 {
			return recs, next, 0, err
		}
		cost := 0
		for i := range recs {
			cost += recs[i].Size()
		}
		if x.k.lim.fanoutCharge(x.limitKey, cost, now) {
			return recs, next, 0, nil
		}
		need = cost // one record larger than what is left
	} else if _, last := st.Bounds(); x.off >= last {
		return nil, x.off, 0, nil // nothing to send anyway
	}
	wait := time.Duration(float64(need-avail) / limitFanoutBytes * float64(time.Second))
	return nil, x.off, min(max(wait, fanoutMinWait), fanoutMaxWait), nil
}

// write sends one framed message and flushes it to the client.
func (x *subSession) write(frame []byte) bool {
	if _, err := x.w.Write(frame); err != nil {
		return false
	}
	return x.rc.Flush() == nil
}
