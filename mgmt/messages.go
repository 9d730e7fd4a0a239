package mgmt

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
)

// getBody is the body of POST /api/queues/{vhost}/{name}/get.
type getBody struct {
	Count    int    `json:"count"`
	Ackmode  string `json:"ackmode"`
	Encoding string `json:"encoding"`
	Truncate *int   `json:"truncate"`
}

// gotMessage is one message of the get answer, in RabbitMQ's shape.
type gotMessage struct {
	PayloadBytes    int            `json:"payload_bytes"`
	Redelivered     bool           `json:"redelivered"`
	Exchange        string         `json:"exchange"`
	RoutingKey      string         `json:"routing_key"`
	MessageCount    int            `json:"message_count"`
	Properties      map[string]any `json:"properties"`
	Payload         string         `json:"payload"`
	PayloadEncoding string         `json:"payload_encoding"`
}

// ackmodes are RabbitMQ's get modes: whether a message is requeued and
// whether it counts as rejected (dead-lettered when not requeued).
var ackmodes = map[string]struct{ requeue, reject bool }{
	"ack_requeue_true":     {requeue: true},
	"ack_requeue_false":    {},
	"reject_requeue_true":  {requeue: true, reject: true},
	"reject_requeue_false": {reject: true},
}

// getMessages serves POST /api/queues/{vhost}/{name}/get: takes up to
// count messages, then settles them all as ackmode says (so a requeued
// message is not taken twice by one call), as RabbitMQ does. The user
// needs read permission on the queue.
func (s *Server) getMessages(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, true)
	if !ok {
		return
	}
	var body getBody
	if !s.decode(w, r, &body) {
		return
	}
	mode, ok := ackmodes[body.Ackmode]
	if !ok || (body.Encoding != "auto" && body.Encoding != "base64") || body.Count < 1 {
		s.badRequest(w, "ackmode, encoding (auto or base64) and a positive count are required")
		return
	}
	name := r.PathValue("name")
	if !s.checkPerm(w, s.users.CheckRead(u.Name, v.Name(), auth.ResourceQueue, name)) {
		return
	}
	q, err := v.Queue(name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []gotMessage{}
	var seqs []uint64
	for range body.Count {
		d, ok := q.Get(false)
		if !ok {
			break
		}
		seqs = append(seqs, d.Seq)
		out = append(out, formatGot(d, q.Stats().Ready, body.Encoding == "base64", body.Truncate))
	}
	settle(q, seqs, mode.requeue, mode.reject)
	s.writeJSON(w, http.StatusOK, out)
}

// settle acks, requeues or rejects the deliveries of one get call.
func settle(q *queue.Queue, seqs []uint64, requeue, reject bool) {
	for _, seq := range seqs {
		switch {
		case requeue:
			_ = q.Nack(seq, true)
		case reject:
			_ = q.Nack(seq, false)
		default:
			_ = q.Ack(seq)
		}
	}
}

// formatGot builds one message of the get answer: the payload as a string
// when it is valid UTF-8 and encoding is auto, else base64; truncated to
// truncate bytes when given.
func formatGot(d queue.Delivery, remaining int, forceBase64 bool, truncate *int) gotMessage {
	m := d.Msg
	body := m.Body
	if truncate != nil && *truncate >= 0 && *truncate < len(body) {
		body = body[:*truncate]
	}
	g := gotMessage{PayloadBytes: len(m.Body), Redelivered: d.Redelivered, Exchange: m.Exchange,
		RoutingKey: m.RoutingKey, MessageCount: remaining, Properties: propertiesJSON(&m.Props)}
	if !forceBase64 && utf8.Valid(body) {
		g.Payload, g.PayloadEncoding = string(body), "string"
	} else {
		g.Payload, g.PayloadEncoding = base64.StdEncoding.EncodeToString(body), "base64"
	}
	return g
}

// propertiesJSON shows the AMQP properties that are set, with RabbitMQ's
// names.
func propertiesJSON(p *message.Properties) map[string]any {
	out := map[string]any{}
	set := func(f message.PropFlag, k string, v any) {
		if p.Flags&f != 0 {
			out[k] = v
		}
	}
	set(message.FlagContentType, "content_type", p.ContentType)
	set(message.FlagContentEncoding, "content_encoding", p.ContentEncoding)
	set(message.FlagHeaders, "headers", tableJSON(p.Headers))
	set(message.FlagDeliveryMode, "delivery_mode", p.DeliveryMode)
	set(message.FlagPriority, "priority", p.Priority)
	set(message.FlagCorrelationID, "correlation_id", p.CorrelationID)
	set(message.FlagReplyTo, "reply_to", p.ReplyTo)
	set(message.FlagExpiration, "expiration", p.Expiration)
	set(message.FlagMessageID, "message_id", p.MessageID)
	set(message.FlagTimestamp, "timestamp", p.Timestamp)
	set(message.FlagType, "type", p.Type)
	set(message.FlagUserID, "user_id", p.UserID)
	set(message.FlagAppID, "app_id", p.AppID)
	set(message.FlagClusterID, "cluster_id", p.ClusterID)
	return out
}

// parseProperties reads the properties object of a publish, as RabbitMQ's
// management API accepts it (numbers as JSON numbers or strings).
func parseProperties(in map[string]any) (message.Properties, error) {
	var p message.Properties
	str := func(k string, f message.PropFlag, dst *string) {
		if v, ok := in[k].(string); ok {
			*dst, p.Flags = v, p.Flags|f
		}
	}
	str("content_type", message.FlagContentType, &p.ContentType)
	str("content_encoding", message.FlagContentEncoding, &p.ContentEncoding)
	str("correlation_id", message.FlagCorrelationID, &p.CorrelationID)
	str("reply_to", message.FlagReplyTo, &p.ReplyTo)
	str("expiration", message.FlagExpiration, &p.Expiration)
	str("message_id", message.FlagMessageID, &p.MessageID)
	str("type", message.FlagType, &p.Type)
	str("user_id", message.FlagUserID, &p.UserID)
	str("app_id", message.FlagAppID, &p.AppID)
	str("cluster_id", message.FlagClusterID, &p.ClusterID)
	for k, f := range map[string]message.PropFlag{"delivery_mode": message.FlagDeliveryMode, "priority": message.FlagPriority, "timestamp": message.FlagTimestamp} {
		v, ok := in[k]
		if !ok {
			continue
		}
		n, err := number(v)
		if err != nil {
			return p, err
		}
		p.Flags |= f
		switch k {
		case "delivery_mode":
			p.DeliveryMode = uint8(n)
		case "priority":
			p.Priority = uint8(n)
		default:
			p.Timestamp = n
		}
	}
	if h, ok := in["headers"].(map[string]any); ok {
		p.Headers, p.Flags = message.TableFromJSON(h), p.Flags|message.FlagHeaders
	}
	return p, nil
}

// number reads a JSON number or a numeric string.
func number(v any) (int64, error) {
	switch x := v.(type) {
	case json.Number:
		return x.Int64()
	case string:
		return strconv.ParseInt(x, 10, 64)
	case float64:
		return int64(x), nil
	}
	return 0, strconv.ErrSyntax
}

// purgeQueue serves DELETE /api/queues/{vhost}/{name}/contents: drops the
// ready messages (AMQP queue.purge); 204. The user needs read permission.
func (s *Server) purgeQueue(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, true)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if !s.checkPerm(w, s.users.CheckRead(u.Name, v.Name(), auth.ResourceQueue, name)) {
		return
	}
	q, err := v.Queue(name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := q.Purge(); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
