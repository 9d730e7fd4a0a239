package awsgw

import (
	"math/bits"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/stream"
)

// PutRecord(s), GetShardIterator and GetRecords. A record is stored as a
// core message (message.Marshal, stream.KindMessage) whose body is the
// data and whose AWS meta carries the partition key, so that records fed
// by an exchange binding read the same way: their partition key is the
// routing key.

const maxGetRecordsBytes = 10 << 20

// recordIn is one record to put.
type recordIn struct {
	key      string // partition key
	explicit string // ExplicitHashKey ("" = none)
	data     []byte
	hash     stream.Uint128
}

// recordOut is the result of one put: a shard and sequence number, or an
// error code and message.
type recordOut struct {
	SequenceNumber string `json:",omitempty"` // from seq, by fillSeqs
	ShardId        string `json:",omitempty"`
	ErrorCode      string `json:",omitempty"`
	ErrorMessage   string `json:",omitempty"`
	seq            kseq
}

// fillSeqs formats the sequence numbers of outs for an encoder other
// than appendPutRecordsJSON.
func fillSeqs(outs []recordOut) {
	for i := range outs {
		outs[i].seq.fill(&outs[i].SequenceNumber)
	}
}

// hashKeyOf computes a record's hash key: its ExplicitHashKey or MD5 of
// its partition key.
func hashKeyOf(key, explicit string) (stream.Uint128, *apiError) {
	if explicit == "" {
		return stream.HashKeyFor(key), nil
	}
	h, err := stream.ParseHashKey(explicit)
	if err != nil {
		return h, errKinesisInvalidArg("Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was %s", explicit)
	}
	return h, nil
}

func (k *kinesisService) putRecord(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 'w')
	if aerr != nil {
		return nil, aerr
	}
	if s := p.str("SequenceNumberForOrdering"); s != "" {
		if ep, _, _, ok := parseKinesisSeq(s); !ok || ep != t.epoch() {
			return nil, errKinesisInvalidArg("ExclusiveMinimumSequenceNumber %s used in PutRecord on stream %s under account %s is invalid.",
				s, t.name, t.account)
		}
	}
	rec := recordIn{key: p.str("PartitionKey"), explicit: p.str("ExplicitHashKey"), data: p.blob("Data")}
	if rec.hash, aerr = hashKeyOf(rec.key, rec.explicit); aerr != nil {
		return nil, aerr
	}
	outs := k.appendRecords(t, []recordIn{rec})
	fillSeqs(outs)
	out := outs[0]
	if out.ErrorCode != "" {
		if out.ErrorCode == "InternalFailure" {
			return nil, errInternal()
		}
		return nil, kerr(out.ErrorCode, "%s", out.ErrorMessage)
	}
	return &struct {
		ShardId, SequenceNumber string
		EncryptionType          string `json:",omitempty"`
	}{out.ShardId, out.SequenceNumber, t.meta.Encryption}, nil
}

func (k *kinesisService) putRecords(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 'w')
	if aerr != nil {
		return nil, aerr
	}
	items, _ := p["Records"].([]any)
	recs := make([]recordIn, len(items))
	for i, item := range items {
		e := params(item.(map[string]any))
		recs[i] = recordIn{key: e.str("PartitionKey"), explicit: e.str("ExplicitHashKey"), data: e.blob("Data")}
	}
	return k.putTyped(t, recs, req.proto == protoJSON)
}

// putTyped puts decoded records (their hash keys not yet computed) to t
// and reports the result as PutRecords does (pre-encoded if asJSON).
func (k *kinesisService) putTyped(t *kstream, recs []recordIn, asJSON bool) (any, *apiError) {
	total := 0
	for i := range recs {
		var aerr *apiError
		if recs[i].hash, aerr = hashKeyOf(recs[i].key, recs[i].explicit); aerr != nil {
			return nil, aerr
		}
		total += len(recs[i].data) + len(recs[i].key)
	}
	if total > maxPutRecordsBytes {
		return nil, errKinesisInvalidArg("Records size exceeds 5 MB limit")
	}
	outs := k.appendRecords(t, recs)
	if asJSON {
		b, ok := appendPutRecordsJSON(getArena(40+90*len(outs)), outs, t.meta.Encryption)
		if ok {
			return rawJSON(b), nil // back to arenas once written
		}
		putArena(b)
	}
	fillSeqs(outs)
	failed := 0
	for _, o := range outs {
		if o.ErrorCode != "" {
			failed++
		}
	}
	return &struct {
		FailedRecordCount int
		Records           []recordOut
		EncryptionType    string `json:",omitempty"`
	}{failed, outs, t.meta.Encryption}, nil
}

// appendRecords appends recs to t's shards and waits until every
// accepted record is durable. Records over a shard's write limit fail
// with ProvisionedThroughputExceededException. The records for one shard
// go to it as one batch (one stored value: see stream.AppendBatch).
func (k *kinesisService) appendRecords(t *kstream, recs []recordIn) []recordOut {
	outs := make([]recordOut, len(recs))
	now := k.now()
	groups, arena := k.groupRecords(t, recs, outs, now)
	defer putArena(arena) // appends copy their data
	var wg sync.WaitGroup // the appends' dones
	appendGroup := func(g *shardBatch) {
		data := make([][]byte, len(g.idx))
		for j := range data {
			data[j] = arena[g.starts[j]:g.ends[j]:g.ends[j]]
		}
		first, err := g.part.Stream().AppendBatch(stream.KindMessage, data, func(err error) { g.err = err; wg.Done() })
		if err != nil {
			wg.Done()
			g.retry = data // sealed by a split or merge meanwhile: route again, one by one
			return
		}
		g.first = first
	}
	// A shard's append writes its segment on the calling goroutine (see
	// stream.AppendBatch): the shards of one request write theirs side by
	// side.
	var calls sync.WaitGroup
	wg.Add(len(groups))
	for i, g := range groups {
		if i == len(groups)-1 {
			appendGroup(g)
			break
		}
		calls.Go(func() { appendGroup(g) })
	}
	calls.Wait()
	wg.Wait()
	epoch := t.epoch()
	for _, g := range groups {
		if g.retry != nil {
			k.appendEach(t, recs, outs, g.idx, g.retry, epoch)
			continue
		}
		idx := shardIndex(g.part.ID())
		for j, i := range g.idx {
			if g.err != nil {
				outs[i] = recordOut{ErrorCode: "InternalFailure", ErrorMessage: "Internal service failure."}
				continue
			}
			outs[i] = recordOut{seq: recordKseq(epoch, idx, g.first+uint64(j)), ShardId: g.part.ID()}
		}
	}
	return outs
}

// shardBatch is the records of one PutRecords bound for one shard.
type shardBatch struct {
	part   *stream.Partition
	idx    []int // indexes in the request, in order
	starts []int // each record's encoded message in the arena
	ends   []int
	first  uint64 // offset of the first record, once appended
	err    error  // set by the append's done
	retry  [][]byte
}

// groupRecords routes and admits each record and encodes it as a core
// message into one arena, grouping them by shard in request order.
// Records refused get their outs entry.
func (k *kinesisService) groupRecords(t *kstream, recs []recordIn, outs []recordOut, now time.Time) ([]*shardBatch, []byte) {
	size := 0
	for i := range recs {
		size += len(recs[i].data) + 2*len(recs[i].key) + len(recs[i].explicit) + 64
	}
	arena := getArena(size)
	var groups []*shardBatch
	var meta message.AWSMeta
	m := message.Message{Origin: message.FaceKinesis, Arrived: now.UnixNano(), AWS: &meta}
	for i, r := range recs {
		part, err := t.ps.PartitionFor(r.hash)
		if err != nil {
			outs[i] = recordOut{ErrorCode: "InternalFailure", ErrorMessage: "Internal service failure."}
			continue
		}
		if !k.admitPut(t, part.ID(), len(r.data)+len(r.key), now) {
			outs[i] = recordOut{ErrorCode: "ProvisionedThroughputExceededException",
				ErrorMessage: throughputText(part.ID(), t.name, t.account)}
			continue
		}
		var g *shardBatch
		for _, x := range groups {
			if x.part == part {
				g = x
				break
			}
		}
		if g == nil {
			g = &shardBatch{part: part}
			groups = append(groups, g)
		}
		m.RoutingKey, m.Body = r.key, r.data
		meta = message.AWSMeta{PartitionKey: r.key, ExplicitHashKey: r.explicit}
		start := len(arena)
		arena = message.Marshal(arena, &m)
		g.idx, g.starts, g.ends = append(g.idx, i), append(g.starts, start), append(g.ends, len(arena))
	}
	return groups, arena
}

// appendEach appends records one by one, each to the shard that owns it
// now (Partitioned.Append retries past a concurrent split or merge).
func (k *kinesisService) appendEach(t *kstream, recs []recordIn, outs []recordOut, idx []int, data [][]byte, epoch uint64) {
	errs := make([]error, len(idx))
	var wg sync.WaitGroup
	for j, i := range idx {
		wg.Add(1)
		part, off, err := t.ps.Append(recs[i].hash, stream.KindMessage, data[j], func(err error) { errs[j] = err; wg.Done() })
		if err != nil {
			wg.Done()
			errs[j] = err
			continue
		}
		outs[i] = recordOut{seq: recordKseq(epoch, shardIndex(part.ID()), off), ShardId: part.ID()}
	}
	wg.Wait()
	for j, i := range idx {
		if errs[j] != nil {
			outs[i] = recordOut{ErrorCode: "InternalFailure", ErrorMessage: "Internal service failure."}
		}
	}
}

// arenas recycles the Kinesis hot paths' large scratch buffers
// (PutRecords's body, decoded data and encoded messages: about 0.5 to
// 0.7 MiB each for 500 records of 1 KiB; the JSON answers), which would
// otherwise be allocated and zeroed per call. One pool per power of two
// of capacity, so that a small buffer never stands in for a large one:
// the class of n holds buffers of capacity at least 2^class ≥ n.
var arenas [maxArenaClass + 1]sync.Pool // of *[]byte

// minArenaClass and maxArenaClass bound the pooled capacities: 4 KiB to
// 16 MiB (a PutRecords is at most 5 MiB of data, a GetRecords answer 10
// MiB of data in base64).
const minArenaClass, maxArenaClass = 12, 24

// getArena returns an empty buffer of capacity at least n.
func getArena(n int) []byte {
	c := max(bits.Len(uint(max(n, 1)-1)), minArenaClass)
	if c > maxArenaClass {
		return make([]byte, 0, n)
	}
	if p, ok := arenas[c].Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return make([]byte, 0, 1<<c)
}

// putArena gives b back to arenas; nothing may use it afterwards.
func putArena(b []byte) {
	c := bits.Len(uint(cap(b))) - 1 // 2^c ≤ cap(b)
	if c < minArenaClass || c > maxArenaClass {
		return
	}
	b = b[:0]
	arenas[c].Put(&b)
}

// shardIDRe takes the number from a shard id as Kinesis accepts it
// ("shardId-000000000001", "shard-1", "1").
var shardIDRe = regexp.MustCompile(`^(?:[a-zA-Z_.-]*-)?(\d{1,12})$`)

// partitionOf finds the shard a request names.
func partitionOf(t *kstream, id string) (*stream.Partition, *apiError) {
	m := shardIDRe.FindStringSubmatch(id)
	if m == nil {
		return nil, errShardNotFound(id, t.name, t.account)
	}
	n, _ := strconv.Atoi(m[1])
	part, err := t.ps.Partition(stream.PartitionID(n))
	if err != nil {
		return nil, errShardNotExist(stream.PartitionID(n), t.name, t.account)
	}
	return part, nil
}

func (k *kinesisService) getShardIterator(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 'r')
	if aerr != nil {
		return nil, aerr
	}
	part, aerr := partitionOf(t, p.str("ShardId"))
	if aerr != nil {
		return nil, aerr
	}
	off, aerr := k.iteratorStart(t, part, p)
	if aerr != nil {
		return nil, aerr
	}
	it := iterator{issued: k.now(), vhost: t.vhost.Name(), stream: t.name, epoch: t.epoch(),
		shard: shardIndex(part.ID()), offset: off}
	return &struct{ ShardIterator string }{encodeIterator(k.key, it)}, nil
}

// iteratorStart resolves a GetShardIterator request to an offset.
func (k *kinesisService) iteratorStart(t *kstream, part *stream.Partition, p params) (uint64, *apiError) {
	typ, seq, id := p.str("ShardIteratorType"), p.str("StartingSequenceNumber"), part.ID()
	st := part.Stream()
	first, next := st.Bounds()
	switch {
	case seq != "" && (typ == "TRIM_HORIZON" || typ == "LATEST"):
		return 0, errKinesisInvalidArg("Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or "+
			"(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and also a StartingSequenceNumber.", typ)
	case typ == "TRIM_HORIZON":
		return first, nil
	case typ == "LATEST":
		return next, nil
	case typ == "AT_TIMESTAMP":
		ts, ok := p.time("Timestamp")
		if !ok {
			return 0, errKinesisInvalidArg("Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.")
		}
		if now := k.now(); ts.After(now) {
			return 0, errKinesisInvalidArg("The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "+
				"timestampInMillis: %d, currentTimestampInMillis: %d", ts.UnixMilli(), now.UnixMilli())
		}
		off, err := st.SeekTime(ts)
		if err != nil {
			return 0, errInternal()
		}
		return off, nil
	case seq == "":
		return 0, errKinesisInvalidArg("Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or "+
			"(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and no StartingSequenceNumber.", typ)
	}
	ep, idx, pos, ok := parseKinesisSeq(seq)
	switch {
	case !ok:
		return 0, errKinesisInvalidArg("StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid.",
			seq, id, t.name, t.account)
	case idx != shardIndex(id):
		return 0, errKinesisInvalidArg("Invalid StartingSequenceNumber. It encodes %s, while it was used in a call to a shard with %s",
			stream.PartitionID(idx), id)
	case ep != t.epoch():
		return 0, errKinesisInvalidArg("StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid because it did not come from this stream.",
			seq, id, t.name, t.account)
	}
	off := pos // AFTER_SEQUENCE_NUMBER
	if typ == "AT_SEQUENCE_NUMBER" {
		off = max(pos, 1) - 1
	}
	return min(off, next), nil
}

// kRecord is a record as GetRecords returns it.
type kRecord struct {
	SequenceNumber              string // from seq, if set, by fillSeqs
	ApproximateArrivalTimestamp awsTime
	Data                        []byte
	PartitionKey                string
	EncryptionType              string `json:",omitempty"`
	seq                         kseq
}

// kChildShard is a child of a closed shard, given at its end.
type kChildShard struct {
	ShardId      string
	ParentShards []string
	HashKeyRange kHashRange
}

// kGetRecordsOut is GetRecords' result.
type kGetRecordsOut struct {
	Records            []kRecord
	NextShardIterator  *string `json:",omitempty"`
	MillisBehindLatest int64
	ChildShards        []kChildShard `json:",omitempty"`
}

// iteratorTarget resolves an iterator to its stream and shard.
func (k *kinesisService) iteratorTarget(req *request, it iterator) (*kstream, *stream.Partition, *apiError) {
	account := k.b.Users().AccountForVhost(it.vhost)
	if account == "" {
		account = auth.DefaultAccount
	}
	shardID := stream.PartitionID(it.shard)
	v, err := k.b.Vhost(it.vhost)
	if err != nil {
		return nil, nil, errShardNotExist(shardID, it.stream, account)
	}
	ps, err := v.Partitioned(it.stream)
	if err != nil {
		return nil, nil, errShardNotExist(shardID, it.stream, account)
	}
	t := &kstream{vhost: v, ps: ps, account: account, name: it.stream}
	if !req.id4.anyKey && k.b.Users().CheckVhostAccess(req.id4.user, it.vhost) != nil {
		return nil, nil, errKinesisAccessDenied(req, t.arn(req))
	}
	if aerr := k.checkPerm(req, t, 'r'); aerr != nil {
		return nil, nil, aerr
	}
	part, err := ps.Partition(shardID)
	if err != nil || t.epoch() != it.epoch {
		return nil, nil, errShardNotExist(shardID, it.stream, account)
	}
	k.mu.Lock()
	t.meta = k.metaFor(it.vhost, it.stream).clone()
	k.mu.Unlock()
	return t, part, nil
}

func (k *kinesisService) getRecords(req *request, p params) (any, *apiError) {
	it, ok := decodeIterator(k.key, p.str("ShardIterator"))
	now := k.now()
	if !ok || it.issued.After(now.Add(time.Minute)) {
		return nil, errInvalidIterator()
	}
	if now.Sub(it.issued) > iteratorTTL {
		return nil, errExpiredIterator(it.issued, now)
	}
	t, part, aerr := k.iteratorTarget(req, it)
	if aerr != nil {
		return nil, aerr
	}
	if !k.admitGet(t, part.ID(), now) {
		return nil, errThroughput(part.ID(), t.name, t.account)
	}
	limit := int64(10000)
	if l, ok := p.int("Limit"); ok {
		limit = l
	}
	st := part.Stream()
	recs, next, err := st.Read(it.offset, int(limit), maxGetRecordsBytes)
	if err != nil {
		return nil, kinesisError(err, t.name, t.account)
	}
	out := &kGetRecordsOut{Records: make([]kRecord, 0, len(recs))}
	cutoff := now.Add(-time.Duration(t.meta.Retention) * time.Hour).UnixNano()
	epoch, idx, nbytes := t.epoch(), shardIndex(part.ID()), 0
	for i := range recs {
		if recs[i].Arrived < cutoff {
			continue // past retention
		}
		r := recordOf(&recs[i], "", t.meta.Encryption)
		r.seq = recordKseq(epoch, idx, recs[i].Offset) // formatted as the response is encoded
		nbytes += len(r.Data)
		out.Records = append(out.Records, r)
	}
	k.chargeGet(t, part.ID(), nbytes)
	k.b.Tally().Face(message.FaceKinesis).Delivered(len(out.Records))
	if end := part.Info().EndOffset; end != nil && next >= *end {
		out.ChildShards = childShards(t.ps, part.ID())
		out.fillSeqs()
		return out, nil
	}
	if _, last := st.Bounds(); next < last {
		if head, _, err := st.Read(next, 1, 0); err == nil && len(head) == 1 {
			out.MillisBehindLatest = max(0, now.Sub(time.Unix(0, head[0].Arrived)).Milliseconds())
		}
	}
	it.issued, it.offset = now, next
	nextIt := encodeIterator(k.key, it)
	out.NextShardIterator = &nextIt
	return getRecordsResult(req, out), nil
}

// recordOf turns a stored record into a Kinesis record.
func recordOf(r *stream.Record, seq, encryption string) kRecord {
	out := kRecord{SequenceNumber: seq, ApproximateArrivalTimestamp: awsTime(time.Unix(0, r.Arrived)),
		Data: r.Data, EncryptionType: encryption}
	if r.Kind != stream.KindMessage {
		return out
	}
	var m message.Message
	if message.UnmarshalView(r.Data, &m) != nil { // the body stays in r.Data, which Read gave us
		return out
	}
	out.Data, out.PartitionKey = m.Body, m.RoutingKey
	if m.AWS != nil && m.AWS.PartitionKey != "" {
		out.PartitionKey = m.AWS.PartitionKey
	}
	if out.Data == nil {
		out.Data = []byte{}
	}
	return out
}

// childShards lists the children of shard id.
func childShards(ps *stream.Partitioned, id string) []kChildShard {
	out := []kChildShard{}
	for _, p := range ps.Partitions() {
		info := p.Info()
		if info.Parent != id && info.AdjacentParent != id {
			continue
		}
		parents := []string{info.Parent}
		if info.AdjacentParent != "" {
			parents = append(parents, info.AdjacentParent)
		}
		out = append(out, kChildShard{ShardId: info.ID, ParentShards: parents,
			HashKeyRange: kHashRange{info.Range.Start.String(), info.Range.End.String()}})
	}
	return out
}
