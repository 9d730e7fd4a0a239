package awsgw

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Stream settings kept by the gateway: retention, tags, encryption
// (accepted and reported; records are not encrypted), enhanced
// monitoring (reported) and enhanced fan-out consumers (registered and
// described; SubscribeToShard is not served yet).

func (k *kinesisService) increaseRetention(req *request, p params) (any, *apiError) {
	return k.setRetention(req, p, true)
}

func (k *kinesisService) decreaseRetention(req *request, p params) (any, *apiError) {
	return k.setRetention(req, p, false)
}

func (k *kinesisService) setRetention(req *request, p params, increase bool) (any, *apiError) {
	t, aerr := k.resolve(req, p, 'c')
	if aerr != nil {
		return nil, aerr
	}
	hours, _ := p.int("RetentionPeriodHours")
	aerr = k.update(t, func(m *streamMeta) *apiError {
		switch {
		case hours < minRetention:
			return errKinesisInvalidArg("Minimum allowed retention period is %d hours. Requested retention period (%d hours) is too short.",
				minRetention, hours)
		case hours > maxRetention:
			return errKinesisInvalidArg("Maximum allowed retention period is %d hours. Requested retention period (%d hours) is too long.",
				maxRetention, hours)
		case increase && int64(m.Retention) > hours:
			return errKinesisInvalidArg("Requested retention period (%d hours) for stream %s can not be shorter than existing retention period (%d hours). Use DecreaseRetentionPeriod API.",
				hours, t.name, m.Retention)
		case !increase && int64(m.Retention) < hours:
			return errKinesisInvalidArg("Requested retention period (%d hours) for stream %s can not be longer than existing retention period (%d hours). Use IncreaseRetentionPeriod API.",
				hours, t.name, m.Retention)
		}
		m.Retention = int(hours)
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return nil, k.applyRetention(t, hours)
}

// applyRetention makes the store trim the stream's records older than
// hours (the shared retention timer runs it) and saves the setting with
// the stream's definition.
func (k *kinesisService) applyRetention(t *kstream, hours int64) *apiError {
	t.ps.SetMaxAge(time.Duration(hours) * time.Hour)
	if err := t.ps.Save(); err != nil {
		return kinesisError(err, t.name, t.account)
	}
	return nil
}

// tagCharsRe finds a character Kinesis does not allow in tags.
var tagCharsRe = regexp.MustCompile(`[^\x{00C0}-\x{1FFF}\x{2C00}-\x{D7FF}\w./=+\-_ @%]`)

func checkTagChars(words []string, action, name, account string) *apiError {
	for _, w := range words {
		if tagCharsRe.MatchString(w) {
			return errKinesisInvalidArg("%s", "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @.")
		}
	}
	for _, w := range words {
		if strings.Contains(w, "%") {
			return errKinesisInvalidArg("Failed to %s stream %s under account %s because some tags contained illegal characters. "+
				"The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'.", action, name, account)
		}
	}
	return nil
}

func (k *kinesisService) addTags(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 'c')
	if aerr != nil {
		return nil, aerr
	}
	tags := p.sub("Tags")
	var words []string
	for key, v := range tags {
		s, _ := v.(string)
		words = append(words, key, s)
	}
	if aerr := checkTagChars(words, "add tags to", t.name, t.account); aerr != nil {
		return nil, aerr
	}
	return nil, k.update(t, func(m *streamMeta) *apiError {
		if m.Tags == nil {
			m.Tags = map[string]string{}
		}
		n := len(m.Tags)
		for key := range tags {
			if _, ok := m.Tags[key]; !ok {
				n++
			}
		}
		if n > 50 {
			return errKinesisInvalidArg("Failed to add tags to stream %s under account %s because a given stream cannot have more than 50 tags associated with it.",
				t.name, t.account)
		}
		for key, v := range tags {
			m.Tags[key], _ = v.(string)
		}
		return nil
	})
}

func (k *kinesisService) removeTags(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 'c')
	if aerr != nil {
		return nil, aerr
	}
	items, _ := p["TagKeys"].([]any)
	keys := make([]string, 0, len(items))
	for _, item := range items {
		s, _ := item.(string)
		keys = append(keys, s)
	}
	if aerr := checkTagChars(keys, "remove tags from", t.name, t.account); aerr != nil {
		return nil, aerr
	}
	return nil, k.update(t, func(m *streamMeta) *apiError {
		for _, key := range keys {
			delete(m.Tags, key)
		}
		return nil
	})
}

type kTag struct {
	Key   string
	Value string
}

func (k *kinesisService) listTags(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 0)
	if aerr != nil {
		return nil, aerr
	}
	limit := 50
	if l, ok := p.int("Limit"); ok {
		limit = int(l)
	}
	after := p.str("ExclusiveStartTagKey")
	keys := make([]string, 0, len(t.meta.Tags))
	for key := range t.meta.Tags {
		if key > after {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	out := struct {
		Tags        []kTag
		HasMoreTags bool
	}{Tags: []kTag{}, HasMoreTags: len(keys) > limit}
	for _, key := range keys[:min(limit, len(keys))] {
		out.Tags = append(out.Tags, kTag{key, t.meta.Tags[key]})
	}
	return &out, nil
}

func (k *kinesisService) startEncryption(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 'c')
	if aerr != nil {
		return nil, aerr
	}
	if p.str("EncryptionType") != "KMS" {
		return nil, errKinesisInvalidArg("Encryption type must be KMS.")
	}
	return nil, k.update(t, func(m *streamMeta) *apiError {
		m.Encryption, m.KeyID = "KMS", p.str("KeyId")
		return nil
	})
}

func (k *kinesisService) stopEncryption(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 'c')
	if aerr != nil {
		return nil, aerr
	}
	return nil, k.update(t, func(m *streamMeta) *apiError {
		m.Encryption, m.KeyID = "", ""
		return nil
	})
}

// allMetrics are the shard-level metrics "ALL" stands for.
var allMetrics = []string{"IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
	"WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds"}

func (k *kinesisService) enableMonitoring(req *request, p params) (any, *apiError) {
	return k.setMonitoring(req, p, true)
}

func (k *kinesisService) disableMonitoring(req *request, p params) (any, *apiError) {
	return k.setMonitoring(req, p, false)
}

func (k *kinesisService) setMonitoring(req *request, p params, enable bool) (any, *apiError) {
	t, aerr := k.resolve(req, p, 'c')
	if aerr != nil {
		return nil, aerr
	}
	asked := map[string]bool{}
	items, _ := p["ShardLevelMetrics"].([]any)
	for _, item := range items {
		if s, _ := item.(string); s == "ALL" {
			for _, m := range allMetrics {
				asked[m] = true
			}
		} else {
			asked[s] = true
		}
	}
	current := append([]string{}, t.meta.Metrics...)
	aerr = k.update(t, func(m *streamMeta) *apiError {
		var next []string
		for _, name := range allMetrics {
			had := false
			for _, x := range m.Metrics {
				had = had || x == name
			}
			if (enable && (had || asked[name])) || (!enable && had && !asked[name]) {
				next = append(next, name)
			}
		}
		m.Metrics = next
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return &struct {
		StreamName, StreamARN                              string
		CurrentShardLevelMetrics, DesiredShardLevelMetrics []string
	}{t.name, t.arn(req), current, append([]string{}, t.meta.Metrics...)}, nil
}

// kConsumer describes a registered consumer.
type kConsumer struct {
	ConsumerName              string
	ConsumerARN               string
	ConsumerStatus            string
	ConsumerCreationTimestamp awsTime
	StreamARN                 string `json:",omitempty"`
}

func consumerOut(req *request, t *kstream, c consumer, withStream bool) kConsumer {
	out := kConsumer{ConsumerName: c.Name, ConsumerStatus: "ACTIVE",
		ConsumerARN:               t.arn(req) + "/consumer/" + c.Name + ":" + strconv.FormatInt(c.Created, 10),
		ConsumerCreationTimestamp: awsTime(time.Unix(c.Created, 0))}
	if withStream {
		out.StreamARN = t.arn(req)
	}
	return out
}

func (k *kinesisService) registerConsumer(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 'r')
	if aerr != nil {
		return nil, aerr
	}
	name := p.str("ConsumerName")
	c := consumer{Name: name, Created: k.now().Unix()}
	aerr = k.update(t, func(m *streamMeta) *apiError {
		for _, x := range m.Consumers {
			if x.Name == name {
				return kerr("ResourceInUseException", "Consumer %s under stream %s already exists for account %s.",
					name, t.name, t.account)
			}
		}
		if len(m.Consumers) >= maxConsumers {
			return kerr("LimitExceededException", "Consumer limit of %d for stream %s under account %s has been reached.",
				maxConsumers, t.name, t.account)
		}
		m.Consumers = append(m.Consumers, c)
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return &struct{ Consumer kConsumer }{consumerOut(req, t, c, false)}, nil
}

// findConsumer resolves the consumer a request names by ConsumerARN, or
// by StreamARN and ConsumerName.
func (k *kinesisService) findConsumer(req *request, p params, perm byte) (*kstream, consumer, *apiError) {
	name := p.str("ConsumerName")
	if arn := p.str("ConsumerARN"); arn != "" {
		i := strings.Index(arn, "/consumer/")
		if i < 0 {
			return nil, consumer{}, errKinesisInvalidArg("Invalid ConsumerARN.")
		}
		p = params{"StreamARN": arn[:i]}
		name, _, _ = strings.Cut(arn[i+len("/consumer/"):], ":")
	} else if p.str("StreamARN") == "" || name == "" {
		return nil, consumer{}, errKinesisInvalidArg("Either ConsumerARN or StreamARN and ConsumerName must be provided.")
	}
	t, aerr := k.resolve(req, p, perm)
	if aerr != nil {
		return nil, consumer{}, aerr
	}
	for _, c := range t.meta.Consumers {
		if c.Name == name {
			return t, c, nil
		}
	}
	return nil, consumer{}, kerr("ResourceNotFoundException", "Consumer %s under stream %s under account %s not found.",
		name, t.name, t.account)
}

func (k *kinesisService) deregisterConsumer(req *request, p params) (any, *apiError) {
	t, c, aerr := k.findConsumer(req, p, 'r')
	if aerr != nil {
		return nil, aerr
	}
	k.lim.dropFanout(t.vhost.Name()+"\x00"+t.name+"\x00", fanoutSuffix(c))
	return nil, k.update(t, func(m *streamMeta) *apiError {
		for i, x := range m.Consumers {
			if x.Name == c.Name {
				m.Consumers = append(m.Consumers[:i], m.Consumers[i+1:]...)
				break
			}
		}
		return nil
	})
}

func (k *kinesisService) describeConsumer(req *request, p params) (any, *apiError) {
	t, c, aerr := k.findConsumer(req, p, 0)
	if aerr != nil {
		return nil, aerr
	}
	return &struct{ ConsumerDescription kConsumer }{consumerOut(req, t, c, true)}, nil
}

func (k *kinesisService) listConsumers(req *request, p params) (any, *apiError) {
	t, aerr := k.resolve(req, p, 0)
	if aerr != nil {
		return nil, aerr
	}
	start := 0
	if tok := p.str("NextToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(t.meta.Consumers) {
			return nil, errKinesisInvalidArg("Invalid NextToken.")
		}
		start = n
	}
	limit := 100
	if l, ok := p.int("MaxResults"); ok {
		limit = int(l)
	}
	out := struct {
		Consumers []kConsumer
		NextToken string `json:",omitempty"`
	}{Consumers: []kConsumer{}}
	for i := start; i < len(t.meta.Consumers); i++ {
		if len(out.Consumers) == limit {
			out.NextToken = strconv.Itoa(i)
			break
		}
		out.Consumers = append(out.Consumers, consumerOut(req, t, t.meta.Consumers[i], false))
	}
	return &out, nil
}
