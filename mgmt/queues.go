package mgmt

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/route"
)

// queueRoutes registers /api/queues and the message endpoints
// (messages.go).
func (s *Server) queueRoutes(r router) {
	r.list("GET /api/queues", s.listQueues)
	r.list("GET /api/queues/{vhost}", s.listQueues)
	r.handle("GET /api/queues/{vhost}/{name}", s.getQueue)
	r.handle("PUT /api/queues/{vhost}/{name}", s.putQueue)
	r.handle("DELETE /api/queues/{vhost}/{name}", s.deleteQueue)
	r.handle("POST /api/queues/{vhost}/{name}/get", s.getMessages)
	r.handle("DELETE /api/queues/{vhost}/{name}/contents", s.purgeQueue)
}

// queueJSON is a queue in RabbitMQ's shape (rabbit_mgmt_format:queue plus
// the counters the management plugin adds). Junction's own figures:
// messages_delayed (SQS delays) and messages_leased (SQS in flight, also
// counted as unacknowledged).
type queueJSON struct {
	Name                       string         `json:"name"`
	Vhost                      string         `json:"vhost"`
	Type                       string         `json:"type"`
	Durable                    bool           `json:"durable"`
	AutoDelete                 bool           `json:"auto_delete"`
	Exclusive                  bool           `json:"exclusive"`
	Arguments                  map[string]any `json:"arguments"`
	Node                       string         `json:"node"`
	State                      string         `json:"state"`
	Messages                   int            `json:"messages"`
	MessagesReady              int            `json:"messages_ready"`
	MessagesUnacknowledged     int            `json:"messages_unacknowledged"`
	MessagesDelayed            int            `json:"messages_delayed"`
	MessagesLeased             int            `json:"messages_leased"`
	MessageBytes               int            `json:"message_bytes"`
	MessageBytesReady          int            `json:"message_bytes_ready"`
	MessageBytesUnacknowledged int            `json:"message_bytes_unacknowledged"`
	Consumers                  int            `json:"consumers"`
	Policy                     *string        `json:"policy"`
	OperatorPolicy             *string        `json:"operator_policy"`
	EffectivePolicyDefinition  map[string]any `json:"effective_policy_definition"`
	ExclusiveConsumerTag       *string        `json:"exclusive_consumer_tag"`
	ConsumerDetails            []consumerJSON `json:"consumer_details,omitempty"`

	// Rates (rates.go): message_stats and the depth rates, once the
	// queue has been sampled.
	MessageStats                  map[string]any `json:"message_stats,omitempty"`
	MessagesDetails               *details       `json:"messages_details,omitempty"`
	MessagesReadyDetails          *details       `json:"messages_ready_details,omitempty"`
	MessagesUnacknowledgedDetails *details       `json:"messages_unacknowledged_details,omitempty"`
}

// queueTypeName is RabbitMQ's name for a queue type.
func queueTypeName(t queue.Type) string {
	switch t {
	case queue.Quorum:
		return "quorum"
	case queue.Stream:
		return "stream"
	}
	return "classic"
}

// formatQueue builds a queue's JSON.
func (s *Server) formatQueue(v *core.Vhost, q *queue.Queue) queueJSON {
	cfg, st := q.Config(), q.Stats()
	args, _ := v.QueueArguments(cfg.Name)
	unacked := st.Unacked + st.Leased
	out := queueJSON{Name: cfg.Name, Vhost: v.Name(), Type: queueTypeName(cfg.Args.Type), Durable: cfg.Durable,
		AutoDelete: cfg.AutoDelete, Exclusive: cfg.Exclusive, Arguments: tableJSON(args), Node: nodeName,
		State: "running", Messages: st.Ready + unacked, MessagesReady: st.Ready, MessagesUnacknowledged: unacked,
		MessagesDelayed: st.Delayed, MessagesLeased: st.Leased, MessageBytes: st.Bytes,
		MessageBytesReady: st.ReadyBytes, MessageBytesUnacknowledged: st.Bytes - st.ReadyBytes,
		Consumers: st.Consumers}
	s.addPolicy(&out, v, cfg.Name, cfg.Args.Type)
	if stats, dr, ok := s.rates.queue(q); ok {
		md, rd, ud := dr["messages_details"], dr["messages_ready_details"], dr["messages_unacknowledged_details"]
		out.MessageStats, out.MessagesDetails, out.MessagesReadyDetails, out.MessagesUnacknowledgedDetails = stats, &md, &rd, &ud
	}
	return out
}

// addPolicy fills the policy fields of a queue.
func (s *Server) addPolicy(out *queueJSON, v *core.Vhost, name string, t queue.Type) {
	kind := auth.KindClassicQueue
	switch t {
	case queue.Quorum:
		kind = auth.KindQuorumQueue
	case queue.Stream:
		kind = auth.KindStream
	}
	if p := s.users.EffectivePolicy(v.Name(), name, kind); p != nil {
		out.Policy = &p.Name
	}
	if p := s.users.EffectiveOperatorPolicy(v.Name(), name, kind); p != nil {
		out.OperatorPolicy = &p.Name
	}
	out.EffectivePolicyDefinition = s.users.EffectiveDefinition(v.Name(), name, kind)
	if out.EffectivePolicyDefinition == nil {
		out.EffectivePolicyDefinition = map[string]any{}
	}
}

// formatStream builds a plain stream's JSON (an x-queue-type=stream queue).
func (s *Server) formatStream(v *core.Vhost, name string) (queueJSON, bool) {
	st, err := v.Stream(name)
	if err != nil {
		return queueJSON{}, false // a partitioned (Kinesis) stream: not a RabbitMQ queue
	}
	first, next := st.Bounds()
	n := int(next - first)
	out := queueJSON{Name: name, Vhost: v.Name(), Type: "stream", Durable: true,
		Arguments: map[string]any{"x-queue-type": "stream"}, Node: nodeName, State: "running",
		Messages: n, MessagesReady: n, MessageBytes: int(st.Bytes()), MessageBytesReady: int(st.Bytes())}
	s.addPolicy(&out, v, name, queue.Stream)
	return out, true
}

// vhostQueues lists a vhost's queues and plain streams, by name.
func (s *Server) vhostQueues(v *core.Vhost) []queueJSON {
	out := []queueJSON{}
	qs := v.Queues()
	i := 0
	for _, d := range v.Routes().Dests() { // sorted by name: queues and streams
		switch d.Kind {
		case route.DestQueue:
			for i < len(qs) && qs[i].Name() < d.Name {
				i++
			}
			if i < len(qs) && qs[i].Name() == d.Name {
				out = append(out, s.formatQueue(v, qs[i]))
			}
		case route.DestStream:
			if sj, ok := s.formatStream(v, d.Name); ok {
				out = append(out, sj)
			}
		}
	}
	return out
}

// listQueues serves GET /api/queues and /api/queues/{vhost} with
// RabbitMQ's pagination and filtering (page, page_size, name, use_regex,
// sort, sort_reverse, columns).
func (s *Server) listQueues(w http.ResponseWriter, r *http.Request, u *auth.User) {
	vhosts, ok := s.listVhosts(w, r, u)
	if !ok {
		return
	}
	out := []queueJSON{}
	for _, v := range vhosts {
		out = append(out, s.vhostQueues(v)...)
	}
	s.writeList(w, r, out)
}

// findQueue returns the JSON of the path's queue or stream, writing 404
// when there is none.
func (s *Server) findQueue(w http.ResponseWriter, r *http.Request, u *auth.User, v *core.Vhost) (queueJSON, bool) {
	name := r.PathValue("name")
	if q, err := v.Queue(name); err == nil {
		return s.formatQueue(v, q), true
	}
	if sj, ok := s.formatStream(v, name); ok {
		return sj, true
	}
	s.notFound(w, r, u)
	return queueJSON{}, false
}

// getQueue serves GET /api/queues/{vhost}/{name}.
func (s *Server) getQueue(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, false)
	if !ok {
		return
	}
	qj, ok := s.findQueue(w, r, u, v)
	if !ok {
		return
	}
	qj.ConsumerDetails = s.consumers(u, v.Name(), qj.Name)
	for _, cs := range qj.ConsumerDetails {
		if cs.Exclusive {
			qj.ExclusiveConsumerTag = &cs.ConsumerTag
		}
	}
	s.writeJSON(w, http.StatusOK, qj)
}

// queueBody is the body of PUT /api/queues/{vhost}/{name}.
type queueBody struct {
	Durable    *bool          `json:"durable"`
	AutoDelete bool           `json:"auto_delete"`
	Arguments  map[string]any `json:"arguments"`
	Type       string         `json:"type"`
}

// putQueue serves PUT /api/queues/{vhost}/{name}: declares the queue
// (durable unless told otherwise, as RabbitMQ's management API does); 201
// when created, 204 for an equivalent redeclare, 400 for an inequivalent
// one. The user needs configure permission on the queue.
func (s *Server) putQueue(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, true)
	if !ok {
		return
	}
	var body queueBody
	if !s.decode(w, r, &body) {
		return
	}
	name := r.PathValue("name")
	if !s.checkPerm(w, s.users.CheckConfigure(u.Name, v.Name(), auth.ResourceQueue, name)) {
		return
	}
	args := message.TableFromJSON(body.Arguments)
	if _, ok := args.Get("x-queue-type"); !ok && body.Type != "" && body.Type != "classic" {
		args = args.Set("x-queue-type", body.Type)
	}
	durable := body.Durable == nil || *body.Durable
	var isNew bool
	var err error
	if t, _ := args.Get("x-queue-type"); t == "stream" {
		isNew, err = declareStream(v, name, args)
	} else {
		_, isNew, err = v.DeclareQueue(core.QueueDecl{Name: name, Durable: durable, AutoDelete: body.AutoDelete, Args: args})
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	created(w, isNew)
}

// declareStream declares a plain stream with its retention arguments
// (x-max-age such as "7D", x-max-length-bytes).
func declareStream(v *core.Vhost, name string, args message.Table) (bool, error) {
	var maxAge time.Duration
	var maxBytes int64
	if a, ok := args.Get("x-max-age"); ok {
		d, err := parseMaxAge(a)
		if err != nil {
			return false, err
		}
		maxAge = d
	}
	if b, ok := args.Get("x-max-length-bytes"); ok {
		maxBytes, _ = message.Int(b)
	}
	_, isNew, err := v.DeclareStream(name, maxAge, maxBytes)
	return isNew, err
}

// maxAgeRE is RabbitMQ's x-max-age syntax: a number and a unit of Y, M,
// D, h, m or s.
var maxAgeRE = regexp.MustCompile(`^([0-9]+)([YMDhms])$`)

// errMaxAge is a malformed x-max-age.
var errMaxAge = &core.Error{Kind: core.ErrPrecondition, Text: "invalid x-max-age"}

// parseMaxAge parses an x-max-age value.
func parseMaxAge(v any) (time.Duration, error) {
	str, _ := v.(string)
	m := maxAgeRE.FindStringSubmatch(str)
	if m == nil {
		return 0, errMaxAge
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, errMaxAge
	}
	unit := map[string]time.Duration{"Y": 365 * 24 * time.Hour, "M": 30 * 24 * time.Hour, "D": 24 * time.Hour,
		"h": time.Hour, "m": time.Minute, "s": time.Second}[m[2]]
	return time.Duration(n) * unit, nil
}

// deleteQueue serves DELETE /api/queues/{vhost}/{name} (if-unused and
// if-empty as query parameters); 204.
func (s *Server) deleteQueue(w http.ResponseWriter, r *http.Request, u *auth.User) {
	v, ok := s.vhostFor(w, r, u, true)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if !s.checkPerm(w, s.users.CheckConfigure(u.Name, v.Name(), auth.ResourceQueue, name)) {
		return
	}
	q := r.URL.Query()
	_, err := v.DeleteQueue(name, boolParam(q.Get("if-unused")), boolParam(q.Get("if-empty")), nil)
	if errors.Is(err, core.ErrNotFound) {
		if _, serr := v.Stream(name); serr == nil {
			err = v.DeleteStream(name)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
