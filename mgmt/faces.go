package mgmt

import (
	"net/http"
	"time"

	"github.com/junctionmq/junction/awsgw"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/mqtt"
)

// Junction's own endpoints, under /api/junction/ so that they never meet a
// RabbitMQ path: the faces RabbitMQ's API has no objects for. They list
// what the user may see (MQTT clients: monitoring users see all, others
// their own, as /api/connections; AWS resources: those of the vhosts the
// user sees) and accept the usual listing parameters (name, sort, page).
//
//	GET /api/junction/faces               per-face figures and publish counts (the console's overview)
//	GET /api/junction/mqtt/clients        MQTT sessions, connected or kept
//	GET /api/junction/sqs/queues          queues created through SQS
//	GET /api/junction/sns/topics          SNS topics
//	GET /api/junction/sns/subscriptions   SNS subscriptions
//	GET /api/junction/kinesis/streams     Kinesis streams and shard counts

// MQTTFace is what the management API reads from the MQTT face
// (*mqtt.Server).
type MQTTFace interface {
	Stats() mqtt.Stats
	Clients() []mqtt.ClientInfo
}

// AWSFace is what the management API reads from the AWS gateway
// (*awsgw.Server).
type AWSFace interface {
	Inventory() awsgw.Inventory
}

// faceSources are the faces other than AMQP that the API lists; nil when
// the face is off.
type faceSources struct {
	mqtt MQTTFace
	aws  AWSFace
}

// WithMQTT lets the API list the MQTT face's sessions and figures.
func WithMQTT(f MQTTFace) Option { return func(o *options) { o.faces.mqtt = f } }

// WithAWS lets the API list the AWS gateway's SQS queues, SNS topics and
// subscriptions and Kinesis streams.
func WithAWS(f AWSFace) Option { return func(o *options) { o.faces.aws = f } }

func (s *Server) faceRoutes(r router) {
	r.handle("GET /api/junction/faces", s.getFaces)
	r.list("GET /api/junction/mqtt/clients", s.listMQTTClients)
	r.list("GET /api/junction/sqs/queues", s.listSQSQueues)
	r.list("GET /api/junction/sns/topics", s.listSNSTopics)
	r.list("GET /api/junction/sns/subscriptions", s.listSNSSubscriptions)
	r.list("GET /api/junction/kinesis/streams", s.listKinesisStreams)
}

// mqttFigures are the MQTT face's counters in /api/junction/faces.
type mqttFigures struct {
	Connected     int64 `json:"connected"`
	Sessions      int64 `json:"sessions"`
	Subscriptions int64 `json:"subscriptions"`
	Retained      int64 `json:"retained"`
	MessagesIn    int64 `json:"messages_in"`
	MessagesOut   int64 `json:"messages_out"`
	BytesIn       int64 `json:"bytes_in"`
	BytesOut      int64 `json:"bytes_out"`
}

// awsFigures count the AWS gateway's resources the user sees, the
// messages in its SQS queues and the records of its Kinesis streams
// (kinesis_records_appended only grows: a client derives a rate).
type awsFigures struct {
	SQSQueues        int    `json:"sqs_queues"`
	SQSMessages      int    `json:"sqs_messages"`
	SNSTopics        int    `json:"sns_topics"`
	SNSSubscriptions int    `json:"sns_subscriptions"`
	KinesisStreams   int    `json:"kinesis_streams"`
	KinesisRecords   uint64 `json:"kinesis_records"`
	KinesisAppended  uint64 `json:"kinesis_records_appended"`
}

// getFaces serves GET /api/junction/faces: the messages published through
// each face (core, amqp, mqtt, sqs, sns, kinesis: counters, so a client
// computes rates from two readings), AMQP connections and channels, the
// MQTT face's figures and the AWS resource counts; a face that is off is
// null.
func (s *Server) getFaces(w http.ResponseWriter, r *http.Request, u *auth.User) {
	out := map[string]any{"mqtt": nil, "aws": nil}
	conns, chans := 0, 0
	for _, c := range s.connections(u) {
		conns++
		chans += c.Channels
	}
	out["amqp"] = map[string]int{"connections": conns, "channels": chans}
	n := s.b.Counters()
	published := make(map[string]uint64, len(n.PublishedBy))
	for f, c := range n.PublishedBy {
		published[message.Face(f).String()] = c
	}
	out["published"] = published
	if f := s.opts.faces.mqtt; f != nil {
		st := f.Stats()
		fig := mqttFigures{Connected: st.Connected, Sessions: st.Sessions, Subscriptions: st.Subscriptions,
			Retained: st.Retained, MessagesIn: st.MessagesIn, MessagesOut: st.MessagesOut,
			BytesIn: st.BytesReceived, BytesOut: st.BytesSent}
		if !isMonitor(u) { // its own clients only, as in the listing
			fig = mqttFigures{}
			for _, c := range s.mqttClients(u) {
				fig.Sessions++
				fig.Subscriptions += int64(len(c.Subscriptions))
				if c.Connected {
					fig.Connected++
				}
			}
		}
		out["mqtt"] = fig
	}
	if s.opts.faces.aws != nil {
		inv := s.inventory(u)
		fig := awsFigures{SQSQueues: len(inv.Queues), SNSTopics: len(inv.Topics),
			SNSSubscriptions: len(inv.Subscriptions), KinesisStreams: len(inv.Streams)}
		for _, q := range inv.Queues {
			fig.SQSMessages += q.Ready + q.InFlight + q.Delayed
		}
		for _, st := range inv.Streams {
			fig.KinesisRecords += st.Records
			fig.KinesisAppended += st.Appended
		}
		out["aws"] = fig
	}
	s.writeJSON(w, http.StatusOK, out)
}

// mqttClientJSON is one MQTT session.
type mqttClientJSON struct {
	Name            string             `json:"name"` // the client id, for the name filter
	ClientID        string             `json:"client_id"`
	Vhost           string             `json:"vhost"`
	User            string             `json:"user"`
	Connected       bool               `json:"connected"`
	Remote          string             `json:"remote"`
	Listener        string             `json:"listener"`
	ProtocolVersion int                `json:"protocol_version"`
	Clean           bool               `json:"clean"`
	Inflight        int                `json:"inflight"`
	Subscriptions   []subscriptionJSON `json:"subscriptions"`
}

type subscriptionJSON struct {
	Filter string `json:"filter"`
	QoS    int    `json:"qos"`
}

// mqttClients are the sessions u may see.
func (s *Server) mqttClients(u *auth.User) []mqtt.ClientInfo {
	var out []mqtt.ClientInfo
	if s.opts.faces.mqtt == nil {
		return out
	}
	for _, c := range s.opts.faces.mqtt.Clients() {
		if isMonitor(u) || c.User == u.Name {
			out = append(out, c)
		}
	}
	return out
}

// listMQTTClients serves GET /api/junction/mqtt/clients.
func (s *Server) listMQTTClients(w http.ResponseWriter, r *http.Request, u *auth.User) {
	out := []mqttClientJSON{}
	for _, c := range s.mqttClients(u) {
		subs := make([]subscriptionJSON, 0, len(c.Subscriptions))
		for _, sub := range c.Subscriptions {
			subs = append(subs, subscriptionJSON{Filter: sub.Filter, QoS: int(sub.QoS)})
		}
		out = append(out, mqttClientJSON{Name: c.ID, ClientID: c.ID, Vhost: c.Vhost, User: c.User,
			Connected: c.Connected, Remote: c.Remote, Listener: c.Listener, ProtocolVersion: int(c.ProtocolVersion),
			Clean: c.Clean, Inflight: c.Inflight, Subscriptions: subs})
	}
	s.writeList(w, r, out)
}

// inventory is the AWS gateway's resources in the vhosts u sees.
func (s *Server) inventory(u *auth.User) awsgw.Inventory {
	var out awsgw.Inventory
	if s.opts.faces.aws == nil {
		return out
	}
	all := s.opts.faces.aws.Inventory()
	sees := map[string]bool{}
	visible := func(vhost string) bool {
		ok, known := sees[vhost]
		if !known {
			ok = s.seesVhost(u, vhost)
			sees[vhost] = ok
		}
		return ok
	}
	for _, q := range all.Queues {
		if visible(q.Vhost) {
			out.Queues = append(out.Queues, q)
		}
	}
	for _, t := range all.Topics {
		if visible(t.Vhost) {
			out.Topics = append(out.Topics, t)
		}
	}
	for _, sub := range all.Subscriptions {
		if visible(sub.Vhost) {
			out.Subscriptions = append(out.Subscriptions, sub)
		}
	}
	for _, st := range all.Streams {
		if visible(st.Vhost) {
			out.Streams = append(out.Streams, st)
		}
	}
	return out
}

// sqsQueueJSON is one SQS queue; the message counts use RabbitMQ's names.
type sqsQueueJSON struct {
	Name             string            `json:"name"`
	Vhost            string            `json:"vhost"`
	Account          string            `json:"account"`
	FIFO             bool              `json:"fifo"`
	Attributes       map[string]string `json:"attributes"`
	MessagesReady    int               `json:"messages_ready"`
	MessagesUnacked  int               `json:"messages_unacknowledged"`
	MessagesDelayed  int               `json:"messages_delayed"`
	DeadLetterTarget string            `json:"dead_letter_target,omitempty"`
	Created          string            `json:"created"`
}

// listSQSQueues serves GET /api/junction/sqs/queues.
func (s *Server) listSQSQueues(w http.ResponseWriter, r *http.Request, u *auth.User) {
	out := []sqsQueueJSON{}
	for _, q := range s.inventory(u).Queues {
		attrs := q.Attributes
		if attrs == nil {
			attrs = map[string]string{}
		}
		out = append(out, sqsQueueJSON{Name: q.Name, Vhost: q.Vhost, Account: q.Account, FIFO: q.FIFO,
			Attributes: attrs, MessagesReady: q.Ready, MessagesUnacked: q.InFlight, MessagesDelayed: q.Delayed,
			DeadLetterTarget: q.RedriveTarget, Created: q.Created.UTC().Format(time.RFC3339)})
	}
	s.writeList(w, r, out)
}

type snsTopicJSON struct {
	Name          string `json:"name"`
	Vhost         string `json:"vhost"`
	ARN           string `json:"arn"`
	Subscriptions int    `json:"subscriptions"`
}

// listSNSTopics serves GET /api/junction/sns/topics.
func (s *Server) listSNSTopics(w http.ResponseWriter, r *http.Request, u *auth.User) {
	out := []snsTopicJSON{}
	for _, t := range s.inventory(u).Topics {
		out = append(out, snsTopicJSON{Name: t.Name, Vhost: t.Vhost, ARN: t.ARN, Subscriptions: t.Subscriptions})
	}
	s.writeList(w, r, out)
}

type snsSubscriptionJSON struct {
	Name     string `json:"name"` // the subscription ARN
	Vhost    string `json:"vhost"`
	TopicARN string `json:"topic_arn"`
	Protocol string `json:"protocol"`
	Endpoint string `json:"endpoint"`
	Pending  bool   `json:"pending"`
}

// listSNSSubscriptions serves GET /api/junction/sns/subscriptions.
func (s *Server) listSNSSubscriptions(w http.ResponseWriter, r *http.Request, u *auth.User) {
	out := []snsSubscriptionJSON{}
	for _, sub := range s.inventory(u).Subscriptions {
		out = append(out, snsSubscriptionJSON{Name: sub.ARN, Vhost: sub.Vhost, TopicARN: sub.TopicARN,
			Protocol: sub.Protocol, Endpoint: sub.Endpoint, Pending: sub.Pending})
	}
	s.writeList(w, r, out)
}

type kinesisStreamJSON struct {
	Name           string             `json:"name"`
	Vhost          string             `json:"vhost"`
	ARN            string             `json:"arn"`
	Mode           string             `json:"mode"`
	RetentionHours int                `json:"retention_hours"`
	Shards         int                `json:"shards"`
	OpenShards     int                `json:"open_shards"`
	Consumers      int                `json:"consumers"`
	Records        uint64             `json:"records"`
	ShardDetails   []kinesisShardJSON `json:"shard_details"`
}

type kinesisShardJSON struct {
	ID              string `json:"shard_id"`
	Parent          string `json:"parent_shard_id,omitempty"`
	AdjacentParent  string `json:"adjacent_parent_shard_id,omitempty"`
	StartingHashKey string `json:"starting_hash_key"`
	EndingHashKey   string `json:"ending_hash_key"`
	Open            bool   `json:"open"`
	Records         uint64 `json:"records"`
	Appended        uint64 `json:"appended"`
}

// listKinesisStreams serves GET /api/junction/kinesis/streams.
func (s *Server) listKinesisStreams(w http.ResponseWriter, r *http.Request, u *auth.User) {
	out := []kinesisStreamJSON{}
	for _, st := range s.inventory(u).Streams {
		shards := make([]kinesisShardJSON, 0, len(st.ShardList))
		for _, sh := range st.ShardList {
			shards = append(shards, kinesisShardJSON{ID: sh.ID, Parent: sh.Parent, AdjacentParent: sh.AdjacentParent,
				StartingHashKey: sh.StartingHashKey, EndingHashKey: sh.EndingHashKey, Open: sh.Open,
				Records: sh.Records, Appended: sh.Appended})
		}
		out = append(out, kinesisStreamJSON{Name: st.Name, Vhost: st.Vhost, ARN: st.ARN, Mode: st.Mode,
			RetentionHours: st.RetentionHours, Shards: st.Shards, OpenShards: st.OpenShards, Consumers: st.Consumers,
			Records: st.Records, ShardDetails: shards})
	}
	s.writeList(w, r, out)
}
