package awsgw

import (
	"slices"
	"strings"
	"time"

	"github.com/junctionmq/junction/core/auth"
)

// Inventory is the gateway's resources across every vhost, as the
// management API and its console list them.
type Inventory struct {
	Queues        []SQSQueueInfo
	Topics        []SNSTopicInfo
	Subscriptions []SNSSubscriptionInfo
	Streams       []KinesisStreamInfo
}

// SQSQueueInfo is a queue created through SQS (queues declared by other
// faces are usable through SQS too, and listed with the core's queues).
type SQSQueueInfo struct {
	Vhost, Account, Name string
	FIFO                 bool
	Attributes           map[string]string // as set by CreateQueue and SetQueueAttributes
	Ready                int               // ApproximateNumberOfMessages
	InFlight             int               // ApproximateNumberOfMessagesNotVisible
	Delayed              int               // ApproximateNumberOfMessagesDelayed
	RedriveTarget        string            // the dead-letter queue, "" for none
	Created              time.Time
}

// SNSTopicInfo is an SNS topic (a fanout exchange) and how many
// subscriptions it has.
type SNSTopicInfo struct {
	Vhost, Name, ARN string
	Subscriptions    int
}

// SNSSubscriptionInfo is one SNS subscription.
type SNSSubscriptionInfo struct {
	Vhost, ARN, TopicARN string
	Protocol, Endpoint   string
	Pending              bool // awaiting ConfirmSubscription
}

// KinesisStreamInfo is one Kinesis stream (a partitioned core stream).
type KinesisStreamInfo struct {
	Vhost, Name, ARN, Mode string
	RetentionHours         int
	Shards, OpenShards     int
	Consumers              int    // registered enhanced fan-out consumers
	Records                uint64 // records held now, every shard (trimmed ones left out)
	Appended               uint64 // records ever appended, every shard (grows; a client derives a rate)
	ShardList              []KinesisShardInfo
}

// KinesisShardInfo is one shard of a Kinesis stream.
type KinesisShardInfo struct {
	ID, Parent, AdjacentParent     string
	StartingHashKey, EndingHashKey string // decimal, as AWS shows them
	Open                           bool   // false once split or merged
	Records                        uint64 // records held now
	Appended                       uint64 // records ever appended
}

// Inventory lists the SQS queues, SNS topics and subscriptions and Kinesis
// streams the gateway holds, sorted by vhost and name.
func (s *Server) Inventory() Inventory {
	var inv Inventory
	inv.Queues = s.sqs.inventory()
	inv.Topics, inv.Subscriptions = s.sns.inventory()
	inv.Streams = s.kin.inventory(s.cfg.Region)
	return inv
}

// accountOfVhost is the AWS account a vhost is mapped to.
func accountOfVhost(users *auth.Store, vhost string) string {
	if a := users.AccountForVhost(vhost); a != "" {
		return a
	}
	return auth.DefaultAccount
}

func (s *sqsService) inventory() []SQSQueueInfo {
	s.mu.Lock()
	metas := make([]queueMeta, 0, len(s.metas))
	for _, m := range s.metas {
		if !m.synthetic {
			metas = append(metas, *m.clone())
		}
	}
	s.mu.Unlock()
	out := make([]SQSQueueInfo, 0, len(metas))
	for _, m := range metas {
		v, err := s.b.Vhost(m.Vhost)
		if err != nil {
			continue
		}
		q, err := v.Queue(m.Name)
		if err != nil {
			continue
		}
		st, cfg := q.Stats(), q.Config()
		out = append(out, SQSQueueInfo{Vhost: m.Vhost, Account: accountOfVhost(s.b.Users(), m.Vhost), Name: m.Name,
			FIFO: cfg.Options.FIFO, Attributes: m.Attrs, Ready: st.Ready, InFlight: st.Leased + st.Unacked,
			Delayed: st.Delayed, RedriveTarget: cfg.Options.RedriveTarget, Created: time.Unix(m.Created, 0)})
	}
	slices.SortFunc(out, func(a, b SQSQueueInfo) int {
		return strings.Compare(a.Vhost+"\x00"+a.Name, b.Vhost+"\x00"+b.Name)
	})
	return out
}

func (s *snsService) inventory() ([]SNSTopicInfo, []SNSSubscriptionInfo) {
	s.mu.Lock()
	topics := make([]SNSTopicInfo, 0, len(s.topics))
	counts := map[string]int{}
	subs := make([]SNSSubscriptionInfo, 0, len(s.subs))
	for _, sub := range s.subs {
		counts[sub.TopicArn]++
		subs = append(subs, SNSSubscriptionInfo{Vhost: sub.Vhost, ARN: sub.arn(), TopicARN: sub.TopicArn,
			Protocol: sub.Protocol, Endpoint: sub.Endpoint, Pending: sub.Pending})
	}
	for _, t := range s.topics {
		topics = append(topics, SNSTopicInfo{Vhost: t.Vhost, Name: t.Name, ARN: t.arn()})
	}
	s.mu.Unlock()
	for i := range topics {
		topics[i].Subscriptions = counts[topics[i].ARN]
	}
	slices.SortFunc(topics, func(a, b SNSTopicInfo) int { return strings.Compare(a.ARN, b.ARN) })
	slices.SortFunc(subs, func(a, b SNSSubscriptionInfo) int { return strings.Compare(a.ARN, b.ARN) })
	return topics, subs
}

func (k *kinesisService) inventory(region string) []KinesisStreamInfo {
	k.mu.Lock()
	metas := make([]streamMeta, 0, len(k.metas))
	for _, m := range k.metas {
		metas = append(metas, *m)
	}
	k.mu.Unlock()
	out := make([]KinesisStreamInfo, 0, len(metas))
	for _, m := range metas {
		v, err := k.b.Vhost(m.Vhost)
		if err != nil {
			continue
		}
		ps, err := v.Partitioned(m.Name)
		if err != nil {
			continue
		}
		account := accountOfVhost(k.b.Users(), m.Vhost)
		info := KinesisStreamInfo{Vhost: m.Vhost, Name: m.Name, ARN: streamARN(region, account, m.Name),
			Mode: m.Mode, RetentionHours: m.Retention, OpenShards: len(ps.OpenPartitions()), Consumers: len(m.Consumers)}
		for _, p := range ps.Partitions() {
			first, next := p.Stream().Bounds()
			info.Shards++
			info.Records += next - first
			info.Appended += next
			pi := p.Info()
			info.ShardList = append(info.ShardList, KinesisShardInfo{ID: pi.ID, Parent: pi.Parent,
				AdjacentParent: pi.AdjacentParent, StartingHashKey: pi.Range.Start.String(),
				EndingHashKey: pi.Range.End.String(), Open: pi.EndOffset == nil, Records: next - first, Appended: next})
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b KinesisStreamInfo) int { return strings.Compare(a.ARN, b.ARN) })
	return out
}
