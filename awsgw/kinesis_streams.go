package awsgw

import (
	"encoding/base64"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/stream"
)

// Stream lifecycle and description: CreateStream, DeleteStream,
// DescribeStream(Summary), ListStreams, ListShards, UpdateStreamMode,
// DescribeLimits. Junction creates, reshards and deletes synchronously:
// where AWS shows CREATING, UPDATING or DELETING for a few seconds, a
// Junction stream is ACTIVE (or gone) by the time the call returns, which
// every waiter (stream-exists, DescribeStream polling) accepts.

// Output shapes (member names as in the Kinesis API).
type (
	kHashRange struct {
		StartingHashKey string
		EndingHashKey   string
	}
	kSeqRange struct {
		StartingSequenceNumber string
		EndingSequenceNumber   *string `json:",omitempty"`
	}
	kShard struct {
		ShardId               string
		ParentShardId         string `json:",omitempty"`
		AdjacentParentShardId string `json:",omitempty"`
		HashKeyRange          kHashRange
		SequenceNumberRange   kSeqRange
	}
	kMode       struct{ StreamMode string }
	kMonitoring struct{ ShardLevelMetrics []string }
	kStreamDesc struct {
		StreamName              string
		StreamARN               string
		StreamStatus            string
		StreamModeDetails       kMode
		Shards                  []kShard
		HasMoreShards           bool
		RetentionPeriodHours    int
		StreamCreationTimestamp awsTime
		EnhancedMonitoring      []kMonitoring
		EncryptionType          string
		KeyId                   string `json:",omitempty"`
	}
	kStreamSummary struct {
		StreamName              string
		StreamARN               string
		StreamStatus            string
		StreamModeDetails       kMode
		RetentionPeriodHours    int
		StreamCreationTimestamp awsTime
		EnhancedMonitoring      []kMonitoring
		EncryptionType          string
		KeyId                   string `json:",omitempty"`
		OpenShardCount          int
		ConsumerCount           int
	}
	kListedStream struct {
		StreamName              string
		StreamARN               string
		StreamStatus            string
		StreamModeDetails       kMode
		StreamCreationTimestamp awsTime
	}
)

// shardIndex is the number in a shard id ("shardId-000000000007" → 7).
func shardIndex(id string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "shardId-"))
	if err != nil {
		return -1
	}
	return n
}

// epoch is the stream's incarnation as sequence numbers carry it.
func (t *kstream) epoch() uint64 {
	return uint64(t.ps.Definition().Created.UnixMilli()) % seqEpochMod
}

// shardOut describes a partition as Kinesis describes a shard.
func shardOut(info stream.PartitionInfo, epoch uint64) kShard {
	idx := shardIndex(info.ID)
	sh := kShard{ShardId: info.ID, ParentShardId: info.Parent, AdjacentParentShardId: info.AdjacentParent,
		HashKeyRange:        kHashRange{info.Range.Start.String(), info.Range.End.String()},
		SequenceNumberRange: kSeqRange{StartingSequenceNumber: kinesisSeq(epoch, idx, info.StartingOffset)}}
	if info.EndOffset != nil {
		end := kinesisSeq(epoch, idx, endOffsetSeq)
		sh.SequenceNumberRange.EndingSequenceNumber = &end
	}
	return sh
}

func encryptionType(m *streamMeta) string {
	if m.Encryption == "" {
		return "NONE"
	}
	return m.Encryption
}

func (k *kinesisService) createStream(req *request, p params) (any, *apiError) {
	mode := p.sub("StreamModeDetails").str("StreamMode")
	if mode == "" {
		mode = "PROVISIONED"
	}
	n, ok := p.int("ShardCount")
	if mode == "ON_DEMAND" {
		n = onDemandShards
	} else if !ok {
		return nil, errKinesisInvalidArg("ShardCount is required for a stream in PROVISIONED mode.")
	}
	account, name := k.accountFor(req), p.str("StreamName")
	v, aerr := k.vhostFor(req, account, name)
	if aerr != nil {
		return nil, aerr
	}
	if !req.id4.anyKey && k.b.Users().CheckConfigure(req.id4.user, v.Name(), auth.ResourceQueue, name) != nil {
		return nil, errKinesisAccessDenied(req, streamARN(req.id4.region, account, name))
	}
	if _, err := v.Partitioned(name); err == nil {
		return nil, errStreamExists(name, account)
	}
	if open := k.openShards(v.Name(), ""); open+int(n) > accountShardLimit {
		return nil, errShardLimit(account, req.id4.region, open, accountShardLimit, int(n))
	}
	if _, err := v.CreatePartitioned(name, int(n), defaultRetentionHours*time.Hour); err != nil {
		return nil, kinesisError(err, name, account)
	}
	m := &streamMeta{Vhost: v.Name(), Name: name, Retention: defaultRetentionHours, Mode: mode}
	for key, val := range p.sub("Tags") {
		if m.Tags == nil {
			m.Tags = map[string]string{}
		}
		m.Tags[key], _ = val.(string)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.saveMeta(m); err != nil {
		return nil, errInternal()
	}
	k.metas[qkey{m.Vhost, name}] = m
	return nil, nil
}

// openShards counts the open shards of the Kinesis streams of a vhost,
// leaving out stream skip.
func (k *kinesisService) openShards(vhost, skip string) int {
	v, err := k.b.Vhost(vhost)
	if err != nil {
		return 0
	}
	k.mu.Lock()
	var names []string
	for key := range k.metas {
		if key.vhost == vhost && key.name != skip {
			names = append(names, key.name)
		}
	}
	k.mu.Unlock()
	total := 0
	for _, name := range names {
		if ps, err := v.Partitioned(name); err == nil {
			total += len(ps.OpenPartitions())
		}
	}
	return total
}

func (k *kinesisService) deleteStream(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 'c')
	if aerr != nil {
		return nil, aerr
	}
	if force, _ := p["EnforceConsumerDeletion"].(bool); len(t.meta.Consumers) > 0 && !force {
		return nil, kerr("ResourceInUseException",
			"Stream %s under account %s has registered consumers. Deregister them or set EnforceConsumerDeletion.",
			t.name, t.account)
	}
	if err := t.vhost.DeleteStream(t.name); err != nil {
		return nil, kinesisError(err, t.name, t.account)
	}
	k.dropMeta(t.vhost.Name(), t.name)
	return nil, nil
}

func (k *kinesisService) describeStream(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 0)
	if aerr != nil {
		return nil, aerr
	}
	def := t.ps.Definition()
	epoch := uint64(def.Created.UnixMilli()) % seqEpochMod
	limit := 100
	if l, ok := p.int("Limit"); ok {
		limit = int(l)
	}
	after := p.str("ExclusiveStartShardId")
	d := kStreamDesc{StreamName: t.name, StreamARN: t.arn(req), StreamStatus: "ACTIVE",
		StreamModeDetails: kMode{t.meta.Mode}, Shards: []kShard{}, RetentionPeriodHours: t.meta.Retention,
		StreamCreationTimestamp: awsTime(def.Created), EnhancedMonitoring: monitoring(t.meta),
		EncryptionType: encryptionType(t.meta), KeyId: t.meta.KeyID}
	for _, info := range def.Partitions {
		if after != "" && info.ID <= after {
			continue
		}
		if len(d.Shards) == limit {
			d.HasMoreShards = true
			break
		}
		d.Shards = append(d.Shards, shardOut(info, epoch))
	}
	return &struct{ StreamDescription kStreamDesc }{d}, nil
}

func monitoring(m *streamMeta) []kMonitoring {
	return []kMonitoring{{ShardLevelMetrics: append([]string{}, m.Metrics...)}}
}

func (k *kinesisService) describeStreamSummary(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 0)
	if aerr != nil {
		return nil, aerr
	}
	s := kStreamSummary{StreamName: t.name, StreamARN: t.arn(req), StreamStatus: "ACTIVE",
		StreamModeDetails: kMode{t.meta.Mode}, RetentionPeriodHours: t.meta.Retention,
		StreamCreationTimestamp: awsTime(t.ps.Definition().Created), EnhancedMonitoring: monitoring(t.meta),
		EncryptionType: encryptionType(t.meta), KeyId: t.meta.KeyID,
		OpenShardCount: len(t.ps.OpenPartitions()), ConsumerCount: len(t.meta.Consumers)}
	return &struct{ StreamDescriptionSummary kStreamSummary }{s}, nil
}

// listStreams lists the Kinesis streams of the account in name order.
func (k *kinesisService) listStreams(req *request, p params) (any, *apiError) {
	account := k.accountFor(req)
	v, aerr := k.vhostFor(req, account, "")
	if aerr != nil {
		return nil, aerr
	}
	after := p.str("ExclusiveStartStreamName")
	if tok := p.str("NextToken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return nil, errKinesisInvalidArg("Invalid NextToken.")
		}
		after = string(raw)
	}
	limit := 100
	if l, ok := p.int("Limit"); ok && l < 100 {
		limit = int(l)
	}
	k.mu.Lock()
	var names []string
	for key := range k.metas {
		if key.vhost == v.Name() && key.name > after {
			names = append(names, key.name)
		}
	}
	k.mu.Unlock()
	sort.Strings(names)
	out := struct {
		StreamNames     []string
		HasMoreStreams  bool
		NextToken       string `json:",omitempty"`
		StreamSummaries []kListedStream
	}{StreamNames: []string{}, StreamSummaries: []kListedStream{}}
	for _, name := range names {
		ps, err := v.Partitioned(name)
		if err != nil {
			continue
		}
		if len(out.StreamNames) == limit {
			out.HasMoreStreams = true
			out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(out.StreamNames[limit-1]))
			break
		}
		k.mu.Lock()
		mode := k.metaFor(v.Name(), name).Mode
		k.mu.Unlock()
		out.StreamNames = append(out.StreamNames, name)
		out.StreamSummaries = append(out.StreamSummaries, kListedStream{StreamName: name,
			StreamARN: streamARN(req.id4.region, account, name), StreamStatus: "ACTIVE",
			StreamModeDetails: kMode{mode}, StreamCreationTimestamp: awsTime(ps.Definition().Created)})
	}
	return &out, nil
}

// shardsToken is ListShards' NextToken: where the next page starts.
type shardsToken struct {
	Account string `json:"a"`
	Stream  string `json:"s"`
	After   string `json:"x"`
	Filter  string `json:"f,omitempty"`
	Max     int    `json:"m"`
}

func (k *kinesisService) listShards(req *request, p params) (any, *apiError) {
	hasName := p.has("StreamName") || p.has("StreamARN")
	tokStr := p.str("NextToken")
	switch {
	case !hasName && tokStr == "":
		return nil, errKinesisInvalidArg("Either NextToken or StreamName should be provided.")
	case hasName && tokStr != "":
		return nil, errKinesisInvalidArg("NextToken and StreamName cannot be provided together.")
	}
	tok := shardsToken{After: p.str("ExclusiveStartShardId"), Max: 1000}
	if m, ok := p.int("MaxResults"); ok {
		tok.Max = int(m)
	}
	if tokStr != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tokStr)
		if err != nil || json.Unmarshal(raw, &tok) != nil || tok.Stream == "" {
			return nil, errKinesisInvalidArg("Invalid NextToken.")
		}
		p = params{"StreamARN": streamARN(req.id4.region, tok.Account, tok.Stream)}
	}
	t, aerr := k.resolve(req, p, 0)
	if aerr != nil {
		return nil, aerr
	}
	def := t.ps.Definition()
	epoch := uint64(def.Created.UnixMilli()) % seqEpochMod
	keep, aerr := shardFilter(p.sub("ShardFilter"), def.Partitions, k.now())
	if aerr != nil {
		return nil, aerr
	}
	out := struct {
		Shards    []kShard
		NextToken string `json:",omitempty"`
	}{Shards: []kShard{}}
	for _, info := range def.Partitions {
		if (tok.After != "" && info.ID <= tok.After) || !keep(info) {
			continue
		}
		if len(out.Shards) == tok.Max {
			next := shardsToken{Account: t.account, Stream: t.name, After: out.Shards[tok.Max-1].ShardId, Max: tok.Max}
			raw, _ := json.Marshal(next)
			out.NextToken = base64.RawURLEncoding.EncodeToString(raw)
			break
		}
		out.Shards = append(out.Shards, shardOut(info, epoch))
	}
	return &out, nil
}

// shardFilter returns the predicate of a ListShards ShardFilter.
func shardFilter(f params, all []stream.PartitionInfo, now time.Time) (func(stream.PartitionInfo) bool, *apiError) {
	closedAt := map[string]time.Time{} // a parent closes when its children are created
	present := map[string]bool{}
	for _, info := range all {
		present[info.ID] = true
		for _, parent := range []string{info.Parent, info.AdjacentParent} {
			if parent != "" {
				closedAt[parent] = info.Created
			}
		}
	}
	ts, hasTS := f.time("Timestamp")
	typ := f.str("Type")
	switch {
	case typ == "AFTER_SHARD_ID" && f.str("ShardId") == "":
		return nil, errKinesisInvalidArg("ShardId must be provided with ShardFilter type AFTER_SHARD_ID.")
	case (typ == "AT_TIMESTAMP" || typ == "FROM_TIMESTAMP") && !hasTS:
		return nil, errKinesisInvalidArg("Timestamp must be provided with ShardFilter type %s.", typ)
	}
	openAt := func(info stream.PartitionInfo, at time.Time) bool {
		c, closed := closedAt[info.ID]
		return !info.Created.After(at) && (info.EndOffset == nil || !closed || c.After(at))
	}
	return func(info stream.PartitionInfo) bool {
		switch typ {
		case "AFTER_SHARD_ID":
			return info.ID > f.str("ShardId")
		case "AT_TRIM_HORIZON":
			return (info.Parent == "" || !present[info.Parent]) && (info.AdjacentParent == "" || !present[info.AdjacentParent])
		case "AT_LATEST":
			return info.EndOffset == nil
		case "AT_TIMESTAMP":
			return openAt(info, ts) || (ts.Before(info.Created) && info.Parent == "")
		case "FROM_TIMESTAMP":
			c, closed := closedAt[info.ID]
			return info.EndOffset == nil || !closed || !c.Before(ts)
		}
		return true // FROM_TRIM_HORIZON, none
	}, nil
}

func (k *kinesisService) updateStreamMode(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 'c')
	if aerr != nil {
		return nil, aerr
	}
	mode := p.sub("StreamModeDetails").str("StreamMode")
	return nil, k.update(t, func(m *streamMeta) *apiError { m.Mode = mode; return nil })
}

func (k *kinesisService) describeLimits(req *request, _ params) (any, *apiError) {
	account := k.accountFor(req)
	v, aerr := k.vhostFor(req, account, "")
	if aerr != nil {
		return nil, aerr
	}
	onDemand := 0
	k.mu.Lock()
	for key, m := range k.metas {
		if key.vhost == v.Name() && m.Mode == "ON_DEMAND" {
			onDemand++
		}
	}
	k.mu.Unlock()
	return &struct {
		ShardLimit, OpenShardCount, OnDemandStreamCount, OnDemandStreamCountLimit int
	}{accountShardLimit, k.openShards(v.Name(), ""), onDemand, onDemandLimit}, nil
}
