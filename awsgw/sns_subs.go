package awsgw

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"sort"
	"strings"

	"github.com/junctionmq/junction/awsgw/snsfilter"
	"github.com/junctionmq/junction/core/route"
)

// subAttrNames are the attributes a subscription accepts.
var subAttrNames = map[string]bool{"DeliveryPolicy": true, "FilterPolicy": true, "FilterPolicyScope": true,
	"RawMessageDelivery": true, "RedrivePolicy": true, "SubscriptionRoleArn": true, "ReplayPolicy": true}

// refusedProtocols are AWS protocols Junction cannot deliver to.
var refusedProtocols = map[string]bool{"sms": true, "email": true, "email-json": true, "lambda": true,
	"application": true, "firehose": true}

// checkSubAttr validates one subscription attribute and returns its
// normalised value, or AWS's reason (without the "Invalid parameter: "
// prefix). scope is the FilterPolicyScope in effect.
func checkSubAttr(name, val, scope string) (string, string) {
	switch name {
	case "RawMessageDelivery":
		if !strings.EqualFold(val, "true") && !strings.EqualFold(val, "false") {
			return "", "RawMessageDelivery: Invalid value [" + val + "]. Must be true or false."
		}
		return strings.ToLower(val), ""
	case "FilterPolicyScope":
		if val != "MessageAttributes" && val != "MessageBody" {
			return "", "FilterPolicyScope: Invalid value [" + val + "]. Please use either MessageBody or MessageAttributes"
		}
	case "FilterPolicy":
		if val == "" {
			return "", ""
		}
		p, err := snsfilter.Parse(val)
		if err != nil {
			return "", "FilterPolicy: " + err.Error()
		}
		if p.Nested() && scope != "MessageBody" {
			return "", "\x00Filter policy scope MessageAttributes does not support nested filter policy"
		}
	case "RedrivePolicy":
		if err := snsfilter.CheckJSON(val); err != nil {
			return "", "RedrivePolicy: " + err.Error()
		}
		var rp struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		}
		if json.Unmarshal([]byte(val), &rp) != nil || !strings.HasPrefix(rp.DeadLetterTargetArn, "arn:") ||
			len(strings.Split(rp.DeadLetterTargetArn, ":")) != 6 {
			return "", "RedrivePolicy: deadLetterTargetArn is an invalid arn"
		}
	case "DeliveryPolicy", "ReplayPolicy":
		if err := snsfilter.CheckJSON(val); err != nil {
			return "", name + ": " + err.Error()
		}
	}
	return val, ""
}

// subAttrError wraps a checkSubAttr reason; Subscribe says "Attributes
// Reason: " before it, SetSubscriptionAttributes does not.
func subAttrError(reason string, inSubscribe bool) *apiError {
	if r, ok := strings.CutPrefix(reason, "\x00"); ok {
		return errSNSParam("%s", r)
	}
	if inSubscribe {
		return errSNSParam("Attributes Reason: %s", reason)
	}
	return errSNSParam("%s", reason)
}

type subscribeOutput struct {
	SubscriptionArn string `json:"SubscriptionArn"`
}

// subscribe binds the topic to an endpoint. sqs, amqp and mqtt
// subscriptions are confirmed at once; http(s) ones when the endpoint
// confirms the token it is sent.
func (s *snsService) subscribe(req *request) (any, *apiError) {
	v, t, aerr := s.topicByArn(req, req.form.Get("TopicArn"), "TopicArn")
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkTopicPerm(req, t, 'r'); aerr != nil {
		return nil, aerr
	}
	proto, endpoint := req.form.Get("Protocol"), req.form.Get("Endpoint")
	attrs, aerr := subscribeAttrs(req)
	if aerr != nil {
		return nil, aerr
	}
	sub := &snsSub{ID: newUUID(), Vhost: v.Name(), Topic: t.Name, TopicArn: t.arn(), Protocol: proto,
		Endpoint: endpoint, Owner: t.Account, Attrs: attrs, BaseURL: baseURL(req)}
	if aerr := s.checkEndpoint(req, t, sub); aerr != nil {
		return nil, aerr
	}
	if old, same := s.findSub(t, proto, endpoint); old != nil {
		if !same(attrs) {
			return nil, errSNSParam("Attributes Reason: Subscription already exists with different attributes")
		}
		return &subscribeOutput{SubscriptionArn: subArnShown(old, req)}, nil
	}
	if proto == "http" || proto == "https" {
		sub.Pending, sub.Token = true, newToken()
	}
	if err := s.saveSub(sub); err != nil {
		return nil, snsAPIError(err)
	}
	s.mu.Lock()
	s.subs[sub.ID] = sub
	s.mu.Unlock()
	if sub.Pending {
		s.push.confirm(sub)
	} else if err := s.activate(sub); err != nil {
		s.removeSub(sub)
		return nil, snsAPIError(err)
	}
	return &subscribeOutput{SubscriptionArn: subArnShown(sub, req)}, nil
}

// subscribeAttrs reads and validates Subscribe's attributes.
func subscribeAttrs(req *request) (map[string]string, *apiError) {
	attrs := formMap(req.form, "Attributes")
	scope := attrs["FilterPolicyScope"]
	for _, k := range sortedKeys(attrs) {
		if !subAttrNames[k] {
			return nil, errSNSParam("Attributes Reason: Unknown attribute %s", k)
		}
		val, reason := checkSubAttr(k, attrs[k], scope)
		if reason != "" {
			return nil, subAttrError(reason, true)
		}
		attrs[k] = val
	}
	return attrs, nil
}

// subArnShown is what Subscribe returns: "pending confirmation" for an
// unconfirmed subscription unless ReturnSubscriptionArn is set.
func subArnShown(sub *snsSub, req *request) string {
	if sub.Pending && req.form.Get("ReturnSubscriptionArn") != "true" {
		return "pending confirmation"
	}
	return sub.arn()
}

func newToken() string {
	b := make([]byte, 64)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// findSub finds a subscription of t to the same endpoint and returns a
// function telling whether requested attributes equal its own.
func (s *snsService) findSub(t *snsTopic, proto, endpoint string) (*snsSub, func(map[string]string) bool) {
	for _, sub := range s.subsOf(t) {
		if sub.Protocol == proto && sub.Endpoint == endpoint {
			return sub, func(a map[string]string) bool {
				for k, v := range a {
					if sub.Attrs[k] != v {
						return false
					}
				}
				return true
			}
		}
	}
	return nil, nil
}

// subsOf returns copies of a topic's subscriptions, by id.
func (s *snsService) subsOf(t *snsTopic) []*snsSub {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*snsSub
	for _, sub := range s.subs {
		if sub.Vhost == t.Vhost && sub.Topic == t.Name {
			out = append(out, sub.clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// checkEndpoint validates the protocol and endpoint and fills sub.Queue
// for sqs subscriptions.
func (s *snsService) checkEndpoint(req *request, t *snsTopic, sub *snsSub) *apiError {
	switch sub.Protocol {
	case "sqs":
		return s.checkSQSEndpoint(req, t, sub)
	case "http", "https":
		u, err := url.Parse(sub.Endpoint)
		if err != nil || u.Scheme != sub.Protocol || u.Host == "" {
			return errSNSParam("Endpoint must match the specified protocol")
		}
	case "amqp":
		if _, _, _, ok := parseAMQPEndpoint(sub.Endpoint); !ok {
			return errSNSParam("Endpoint Reason: an amqp endpoint is amqp://vhost/exchange/routing-key")
		}
	case "mqtt":
		topic := strings.TrimPrefix(sub.Endpoint, "mqtt://")
		if topic == "" || strings.ContainsAny(topic, "+#") {
			return errSNSParam("Endpoint Reason: an mqtt endpoint is a topic name without wildcards")
		}
	case "":
		return errSNSMissing("Protocol")
	default:
		return errSNSParam("Amazon SNS does not support this protocol string: %s", sub.Protocol)
	}
	return nil
}

// checkSQSEndpoint resolves a queue ARN (or URL) in the topic's vhost.
func (s *snsService) checkSQSEndpoint(req *request, t *snsTopic, sub *snsSub) *apiError {
	var account, name string
	if parts := strings.Split(sub.Endpoint, ":"); len(parts) == 6 && parts[0] == "arn" && parts[2] == "sqs" {
		account, name = parts[4], parts[5]
	} else if a, n, ok := parseQueueURL(sub.Endpoint, ""); ok && strings.HasPrefix(sub.Endpoint, "http") {
		account, name = a, n
	} else {
		return errSNSParam("SQS endpoint ARN")
	}
	if vh, ok := s.b.Users().VhostForAccount(account, req.id4.region); !ok || vh != t.Vhost {
		return errSNSParam("Endpoint Reason: the queue must be in the topic's account")
	}
	v, err := s.b.Vhost(t.Vhost)
	if err != nil {
		return snsAPIError(err)
	}
	q, err := v.Queue(name)
	if err != nil {
		return errSNSParam("Endpoint Reason: queue %s does not exist", name)
	}
	if q.Config().Options.FIFO && !t.fifo() {
		return errSNSParam("Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics")
	}
	sub.Queue = name
	return nil
}

// parseAMQPEndpoint splits amqp://vhost/exchange/routing-key (the vhost
// path-escaped: %2F for "/"; the routing key may contain "/").
func parseAMQPEndpoint(ep string) (vhost, exchange, key string, ok bool) {
	rest, found := strings.CutPrefix(ep, "amqp://")
	if !found {
		return "", "", "", false
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 || parts[1] == "" {
		return "", "", "", false
	}
	vh, err := url.PathUnescape(parts[0])
	if err != nil || vh == "" {
		return "", "", "", false
	}
	if len(parts) == 3 {
		key = parts[2]
	}
	return vh, parts[1], key, true
}

// binding is the core binding of a confirmed subscription.
func (s *snsService) binding(sub *snsSub) (route.Binding, error) {
	b := route.Binding{Source: sub.Topic, Dest: route.Dest{Kind: route.DestQueue, Name: sub.Queue}, Key: sub.ID}
	m, err := newSubMatcher(sub)
	if err != nil {
		return b, err
	}
	if m != nil {
		b.Matcher = m
	}
	b.Transform = s.newTransform(sub)
	return b, nil
}

type confirmOutput struct {
	SubscriptionArn string `json:"SubscriptionArn"`
}

// confirmSubscription confirms a pending http(s) subscription by its token.
func (s *snsService) confirmSubscription(req *request) (any, *apiError) {
	token := req.form.Get("Token")
	_, t, aerr := s.topicByArn(req, req.form.Get("TopicArn"), "TopicArn")
	if aerr != nil {
		return nil, aerr
	}
	if token == "" {
		return nil, errSNSParam("Token")
	}
	var found *snsSub
	for _, sub := range s.subsOf(t) {
		if sub.Token == token {
			found = sub
		}
	}
	if found == nil {
		return nil, errSNSInvalid("Invalid token")
	}
	if found.Pending {
		found.Pending = false
		if err := s.saveSub(found); err != nil {
			return nil, snsAPIError(err)
		}
		s.mu.Lock()
		s.subs[found.ID] = found
		s.mu.Unlock()
		if err := s.activate(found); err != nil {
			return nil, snsAPIError(err)
		}
	}
	return &confirmOutput{SubscriptionArn: found.arn()}, nil
}

// subByArn resolves a subscription ARN.
func (s *snsService) subByArn(req *request, arn string) (*snsSub, *apiError) {
	_, _, res, aerr := arnParts(arn, "SubscriptionArn")
	if aerr != nil {
		return nil, aerr
	}
	_, id, ok := strings.Cut(res, ":")
	if !ok || len(id) != 36 {
		return nil, errSNSParam("SubscriptionId")
	}
	s.mu.Lock()
	sub := s.subs[id]
	if sub != nil {
		sub = sub.clone()
	}
	s.mu.Unlock()
	if sub == nil || sub.arn() != arn {
		return nil, errSubscriptionNotFound()
	}
	return sub, nil
}

// unsubscribe removes a subscription; a missing one is not an error.
func (s *snsService) unsubscribe(req *request) (any, *apiError) {
	sub, aerr := s.subByArn(req, req.form.Get("SubscriptionArn"))
	if aerr != nil {
		if aerr.Code == "NotFound" {
			return nil, nil
		}
		return nil, aerr
	}
	s.removeSub(sub)
	return nil, nil
}

type subMember struct {
	SubscriptionArn string `json:"SubscriptionArn"`
	Owner           string `json:"Owner"`
	Protocol        string `json:"Protocol"`
	Endpoint        string `json:"Endpoint"`
	TopicArn        string `json:"TopicArn"`
}

type subList struct {
	Member []subMember `json:"member"`
}

type listSubsOutput struct {
	Subscriptions subList `json:"Subscriptions"`
	NextToken     string  `json:"NextToken,omitempty"`
}

func (s *snsService) listSubscriptions(req *request) (any, *apiError) {
	v, aerr := s.vhostOf(req, s.accountOf(req), "")
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	var subs []*snsSub
	for _, sub := range s.subs {
		if sub.Vhost == v.Name() {
			subs = append(subs, sub.clone())
		}
	}
	s.mu.Unlock()
	return pageSubs(subs, req.form.Get("NextToken"))
}

func (s *snsService) listSubscriptionsByTopic(req *request) (any, *apiError) {
	_, t, aerr := s.topicByArn(req, req.form.Get("TopicArn"), "TopicArn")
	if aerr != nil {
		return nil, aerr
	}
	return pageSubs(s.subsOf(t), req.form.Get("NextToken"))
}

// pageSubs returns one page of subscriptions ordered by ARN.
func pageSubs(subs []*snsSub, token string) (any, *apiError) {
	byArn := map[string]*snsSub{}
	arns := make([]string, 0, len(subs))
	for _, sub := range subs {
		byArn[sub.arn()] = sub
		arns = append(arns, sub.arn())
	}
	sort.Strings(arns)
	page, next, aerr := paginate(arns, token)
	if aerr != nil {
		return nil, aerr
	}
	out := &listSubsOutput{NextToken: next}
	for _, a := range page {
		sub := byArn[a]
		shown := a
		if sub.Pending {
			shown = "PendingConfirmation"
		}
		out.Subscriptions.Member = append(out.Subscriptions.Member, subMember{shown, sub.Owner, sub.Protocol,
			sub.Endpoint, sub.TopicArn})
	}
	return out, nil
}

func (s *snsService) getSubscriptionAttributes(req *request) (any, *apiError) {
	sub, aerr := s.subByArn(req, req.form.Get("SubscriptionArn"))
	if aerr != nil {
		return nil, aerr
	}
	attrs := cloneMap(sub.Attrs)
	attrs["SubscriptionArn"] = sub.arn()
	attrs["TopicArn"] = sub.TopicArn
	attrs["Owner"] = sub.Owner
	attrs["Protocol"] = sub.Protocol
	attrs["Endpoint"] = sub.Endpoint
	attrs["ConfirmationWasAuthenticated"] = "true"
	attrs["PendingConfirmation"] = "false"
	if sub.Pending {
		attrs["PendingConfirmation"] = "true"
		attrs["ConfirmationWasAuthenticated"] = "false"
	}
	attrs["SubscriptionPrincipal"] = "arn:aws:iam::" + sub.Owner + ":user/" + req.id4.user
	if attrs["RawMessageDelivery"] == "" {
		attrs["RawMessageDelivery"] = "false"
	}
	if attrs["FilterPolicy"] != "" && attrs["FilterPolicyScope"] == "" {
		attrs["FilterPolicyScope"] = "MessageAttributes"
	}
	if attrs["FilterPolicy"] == "" {
		delete(attrs, "FilterPolicy")
	}
	return &snsAttributesOutput{Attributes: xmlEntries{Entry: attrs}}, nil
}

// setSubscriptionAttributes changes one attribute and rebinds with the
// new filter or delivery format.
func (s *snsService) setSubscriptionAttributes(req *request) (any, *apiError) {
	sub, aerr := s.subByArn(req, req.form.Get("SubscriptionArn"))
	if aerr != nil {
		return nil, aerr
	}
	name, val := req.form.Get("AttributeName"), req.form.Get("AttributeValue")
	if !subAttrNames[name] {
		return nil, errSNSParam("AttributeName")
	}
	scope := sub.Attrs["FilterPolicyScope"]
	if name == "FilterPolicyScope" {
		scope = val
	}
	norm, reason := checkSubAttr(name, val, scope)
	if reason == "" && name == "FilterPolicyScope" && sub.Attrs["FilterPolicy"] != "" {
		_, reason = checkSubAttr("FilterPolicy", sub.Attrs["FilterPolicy"], scope)
	}
	if reason != "" {
		return nil, subAttrError(reason, false)
	}
	if norm == "" && name == "FilterPolicy" {
		delete(sub.Attrs, name)
	} else {
		sub.Attrs[name] = norm
	}
	if err := s.saveSub(sub); err != nil {
		return nil, snsAPIError(err)
	}
	s.mu.Lock()
	s.subs[sub.ID] = sub
	s.mu.Unlock()
	if !sub.Pending {
		if err := s.activate(sub); err != nil {
			return nil, snsAPIError(err)
		}
	}
	return nil, nil
}
