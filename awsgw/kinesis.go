package awsgw

import (
	"crypto/rand"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/stream"
)

// Store kinds of the Kinesis face's definition records.
const (
	defKindKinesis    = "kinesis-stream" // key vhost "\x00" name → streamMeta JSON
	defKindKinesisKey = "kinesis-key"    // "iterator" → the iterator HMAC key
)

// Kinesis limits, as AWS has them by default.
const (
	maxRecordData         = 1 << 20 // bytes of data per record
	maxPutRecordsBytes    = 5 << 20 // bytes (data + partition keys) per PutRecords
	defaultRetentionHours = 24      // hours
	minRetention          = 24
	maxRetention          = 8760
	accountShardLimit     = 500 // open shards per account and region
	onDemandLimit         = 50  // on-demand streams per account
	onDemandShards        = 4   // shards of a new on-demand stream
	maxConsumers          = 20  // registered consumers per stream
	iteratorTTL           = 5 * time.Minute
)

// streamMeta is what Kinesis knows of a stream beyond the core's
// partitioned stream: retention, tags, encryption, monitoring, mode and
// registered consumers. It is persisted as a definition record.
type streamMeta struct {
	Vhost      string            `json:"vhost"`
	Name       string            `json:"name"`
	Retention  int               `json:"retention_hours"`
	Tags       map[string]string `json:"tags,omitempty"`
	Encryption string            `json:"encryption,omitempty"` // "KMS" or ""
	KeyID      string            `json:"key_id,omitempty"`
	Metrics    []string          `json:"metrics,omitempty"`
	Mode       string            `json:"mode"`
	Consumers  []consumer        `json:"consumers,omitempty"`
}

// consumer is a registered enhanced fan-out consumer.
type consumer struct {
	Name    string `json:"name"`
	Created int64  `json:"created"` // unix seconds
}

func (m *streamMeta) clone() *streamMeta {
	c := *m
	c.Tags = cloneMap(m.Tags)
	c.Metrics = append([]string(nil), m.Metrics...)
	c.Consumers = append([]consumer(nil), m.Consumers...)
	return &c
}

// kinesisService serves the Kinesis Data Streams API over core
// partitioned streams.
type kinesisService struct {
	b        *core.Broker
	now      func() time.Time
	key      []byte // iterator HMAC key
	noLimits bool
	lim      limiter

	mu    sync.Mutex // guards metas
	metas map[qkey]*streamMeta
}

func newKinesisService(b *core.Broker, cfg Config) (*kinesisService, error) {
	k := &kinesisService{b: b, now: cfg.Now, noLimits: cfg.KinesisNoLimits, metas: map[qkey]*streamMeta{},
		lim: limiter{buckets: map[string]*bucket{}}}
	st := b.Store()
	err := st.Defs(defKindKinesisKey, func(key string, val []byte) error {
		if key == "iterator" {
			k.key = append([]byte(nil), val...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(k.key) == 0 {
		k.key = make([]byte, 32)
		_, _ = rand.Read(k.key)
		if err := st.PutDef(defKindKinesisKey, "iterator", k.key); err != nil {
			return nil, err
		}
	}
	err = st.Defs(defKindKinesis, func(_ string, val []byte) error {
		var m streamMeta
		if json.Unmarshal(val, &m) == nil && m.Name != "" {
			k.metas[qkey{m.Vhost, m.Name}] = &m
		}
		return nil
	})
	return k, err
}

func (k *kinesisService) saveMeta(m *streamMeta) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return k.b.Store().PutDef(defKindKinesis, m.Vhost+"\x00"+m.Name, data)
}

// params are a request's checked members (see checkType for their types).
type params map[string]any

func (p params) str(name string) string { s, _ := p[name].(string); return s }
func (p params) has(name string) bool   { _, ok := p[name]; return ok }
func (p params) int(name string) (int64, bool) {
	n, ok := p[name].(int64)
	return n, ok
}
func (p params) blob(name string) []byte { b, _ := p[name].([]byte); return b }
func (p params) time(name string) (time.Time, bool) {
	t, ok := p[name].(time.Time)
	return t, ok
}
func (p params) sub(name string) params { m, _ := p[name].(map[string]any); return m }

// kinesisHandler serves one action.
type kinesisHandler func(k *kinesisService, req *request, p params) (any, *apiError)

// kinesisActions maps action names to handlers (filled by init, since
// the handlers refer back to the table through handle).
var kinesisActions map[string]kinesisHandler

func init() {
	kinesisActions = map[string]kinesisHandler{
		"CreateStream": (*kinesisService).createStream, "DeleteStream": (*kinesisService).deleteStream,
		"DescribeStream":                (*kinesisService).describeStream,
		"DescribeStreamSummary":         (*kinesisService).describeStreamSummary,
		"ListStreams":                   (*kinesisService).listStreams,
		"ListShards":                    (*kinesisService).listShards,
		"PutRecord":                     (*kinesisService).putRecord,
		"PutRecords":                    (*kinesisService).putRecords,
		"GetShardIterator":              (*kinesisService).getShardIterator,
		"GetRecords":                    (*kinesisService).getRecords,
		"SplitShard":                    (*kinesisService).splitShard,
		"MergeShards":                   (*kinesisService).mergeShards,
		"UpdateShardCount":              (*kinesisService).updateShardCount,
		"IncreaseStreamRetentionPeriod": (*kinesisService).increaseRetention,
		"DecreaseStreamRetentionPeriod": (*kinesisService).decreaseRetention,
		"AddTagsToStream":               (*kinesisService).addTags,
		"RemoveTagsFromStream":          (*kinesisService).removeTags,
		"ListTagsForStream":             (*kinesisService).listTags,
		"StartStreamEncryption":         (*kinesisService).startEncryption,
		"StopStreamEncryption":          (*kinesisService).stopEncryption,
		"EnableEnhancedMonitoring":      (*kinesisService).enableMonitoring,
		"DisableEnhancedMonitoring":     (*kinesisService).disableMonitoring,
		"UpdateStreamMode":              (*kinesisService).updateStreamMode,
		"DescribeLimits":                (*kinesisService).describeLimits,
		"RegisterStreamConsumer":        (*kinesisService).registerConsumer,
		"DeregisterStreamConsumer":      (*kinesisService).deregisterConsumer,
		"DescribeStreamConsumer":        (*kinesisService).describeConsumer,
		"ListStreamConsumers":           (*kinesisService).listConsumers,
	}
}

// handle decodes, checks and dispatches a Kinesis request.
func (k *kinesisService) handle(req *request) (any, *apiError) {
	h, ok := kinesisActions[req.action]
	if !ok {
		return nil, errUnknownKinesisOp()
	}
	if req.action == "PutRecords" && req.proto == protoJSON {
		if out, aerr, ok := k.putRecordsFast(req); ok {
			return out, aerr
		}
	}
	raw, aerr := decodeKinesisBody(req.proto, req.body)
	if aerr != nil {
		return nil, aerr
	}
	schema := kinesisSchemas[req.action]
	p, aerr := checkMembers(raw, schema)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := validateKinesis(p, schema); aerr != nil {
		return nil, aerr
	}
	return h(k, req, p)
}

// kstream is a resolved stream of a request.
type kstream struct {
	vhost   *core.Vhost
	ps      *stream.Partitioned
	meta    *streamMeta // a snapshot; change through update
	account string
	name    string
}

// arn is the stream's ARN.
func (t *kstream) arn(req *request) string { return streamARN(req.id4.region, t.account, t.name) }

func streamARN(region, account, name string) string {
	return "arn:aws:kinesis:" + region + ":" + account + ":stream/" + name
}

// parseStreamARN takes the account and name from a stream ARN (which may
// go on with "/consumer/…").
func parseStreamARN(arn string) (account, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || !strings.HasPrefix(parts[5], "stream/") {
		return "", "", false
	}
	name, _, _ = strings.Cut(strings.TrimPrefix(parts[5], "stream/"), "/")
	return parts[4], name, name != ""
}

// accountFor picks the account of a request that names a stream without
// an ARN: the default account if the user may use "/", else the first
// mapped vhost the user has permissions on.
func (k *kinesisService) accountFor(req *request) string {
	users := k.b.Users()
	if req.id4.anyKey || users.CheckVhostAccess(req.id4.user, auth.DefaultVhost) == nil {
		if a := users.AccountForVhost(auth.DefaultVhost); a != "" {
			return a
		}
	}
	for _, perm := range users.ListPermissions(req.id4.user, "") {
		if a := users.AccountForVhost(perm.Vhost); a != "" {
			return a
		}
	}
	return auth.DefaultAccount
}

// target names the account and stream of a request: StreamARN wins over
// StreamName.
func (k *kinesisService) target(req *request, p params) (account, name string) {
	if arn := p.str("StreamARN"); arn != "" {
		if a, n, ok := parseStreamARN(arn); ok {
			return a, n
		}
	}
	return k.accountFor(req), p.str("StreamName")
}

// vhostFor maps an account to its vhost and checks the user may use it.
func (k *kinesisService) vhostFor(req *request, account, name string) (*core.Vhost, *apiError) {
	vn, ok := k.b.Users().VhostForAccount(account, req.id4.region)
	if !ok {
		return nil, errStreamNotFound(name, account)
	}
	v, err := k.b.Vhost(vn)
	if err != nil {
		return nil, errStreamNotFound(name, account)
	}
	if !req.id4.anyKey && k.b.Users().CheckVhostAccess(req.id4.user, vn) != nil {
		return nil, errKinesisAccessDenied(req, streamARN(req.id4.region, account, name))
	}
	return v, nil
}

func errKinesisAccessDenied(req *request, arn string) *apiError {
	return newErr(400, "AccessDeniedException", "AccessDeniedException",
		"User: %s is not authorized to perform: kinesis:%s on resource: %s", req.id4.user, req.action, arn)
}

// resolve finds the stream a request names and checks the user's
// permission on it (perm: 'c' configure, 'w' write, 'r' read, 0 vhost
// access only).
func (k *kinesisService) resolve(req *request, p params, perm byte) (*kstream, *apiError) {
	account, name := k.target(req, p)
	v, aerr := k.vhostFor(req, account, name)
	if aerr != nil {
		return nil, aerr
	}
	ps, err := v.Partitioned(name)
	if err != nil {
		return nil, errStreamNotFound(name, account)
	}
	t := &kstream{vhost: v, ps: ps, account: account, name: name}
	if aerr := k.checkPerm(req, t, perm); aerr != nil {
		return nil, aerr
	}
	k.mu.Lock()
	t.meta = k.metaFor(v.Name(), name).clone()
	k.mu.Unlock()
	return t, nil
}

func (k *kinesisService) checkPerm(req *request, t *kstream, perm byte) *apiError {
	if req.id4.anyKey || perm == 0 {
		return nil
	}
	users, vh := k.b.Users(), t.vhost.Name()
	var err error
	switch perm {
	case 'c':
		err = users.CheckConfigure(req.id4.user, vh, auth.ResourceQueue, t.name)
	case 'w':
		err = users.CheckWrite(req.id4.user, vh, auth.ResourceQueue, t.name)
	case 'r':
		err = users.CheckRead(req.id4.user, vh, auth.ResourceQueue, t.name)
	}
	if err != nil {
		return errKinesisAccessDenied(req, t.arn(req))
	}
	return nil
}

// metaFor returns a stream's metadata (k.mu held): the stored record, or
// defaults for a partitioned stream made by another face.
func (k *kinesisService) metaFor(vhost, name string) *streamMeta {
	if m := k.metas[qkey{vhost, name}]; m != nil {
		return m
	}
	return &streamMeta{Vhost: vhost, Name: name, Retention: defaultRetentionHours, Mode: "PROVISIONED"}
}

// update applies fn to a stream's metadata under the lock and persists
// the result.
func (k *kinesisService) update(t *kstream, fn func(m *streamMeta) *apiError) *apiError {
	k.mu.Lock()
	defer k.mu.Unlock()
	m := k.metaFor(t.vhost.Name(), t.name).clone()
	if aerr := fn(m); aerr != nil {
		return aerr
	}
	if err := k.saveMeta(m); err != nil {
		return errInternal()
	}
	k.metas[qkey{m.Vhost, m.Name}] = m
	t.meta = m.clone()
	return nil
}

// dropMeta forgets a deleted stream's metadata and throughput buckets.
func (k *kinesisService) dropMeta(vhost, name string) {
	k.mu.Lock()
	delete(k.metas, qkey{vhost, name})
	k.mu.Unlock()
	_ = k.b.Store().DeleteDef(defKindKinesis, vhost+"\x00"+name)
	k.lim.drop(vhost + "\x00" + name + "\x00")
}
