package awsgw

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
)

// Store kinds of the SNS face's definition records.
const (
	defKindTopic = "sns-topic"        // vhost "\x00" name → snsTopic JSON
	defKindSub   = "sns-subscription" // subscription id → snsSub JSON
	defKindSNS   = "sns-key"          // "signing" → the signing key pair (PEM)
)

// snsTopic is what SNS knows of a topic beyond its core exchange.
type snsTopic struct {
	Vhost       string                `json:"vhost"`
	Name        string                `json:"name"`
	Account     string                `json:"account"`
	Region      string                `json:"region"`
	Attrs       map[string]string     `json:"attrs"`
	Tags        map[string]string     `json:"tags,omitempty"`
	Permissions map[string]permission `json:"permissions,omitempty"`
	Created     int64                 `json:"created"`
}

func (t *snsTopic) arn() string {
	return "arn:aws:sns:" + t.Region + ":" + t.Account + ":" + t.Name
}

func (t *snsTopic) fifo() bool { return t.Attrs["FifoTopic"] == "true" }

func (t *snsTopic) clone() *snsTopic {
	c := *t
	c.Attrs, c.Tags = cloneMap(t.Attrs), cloneMap(t.Tags)
	c.Permissions = make(map[string]permission, len(t.Permissions))
	for k, v := range t.Permissions {
		c.Permissions[k] = v
	}
	return &c
}

// snsSub is a subscription: a binding of the topic's exchange.
type snsSub struct {
	ID       string            `json:"id"`
	Vhost    string            `json:"vhost"`
	Topic    string            `json:"topic"`
	TopicArn string            `json:"topicArn"`
	Protocol string            `json:"protocol"`
	Endpoint string            `json:"endpoint"`
	Owner    string            `json:"owner"`
	Attrs    map[string]string `json:"attrs"`
	Pending  bool              `json:"pending,omitempty"`
	Token    string            `json:"token,omitempty"`
	BaseURL  string            `json:"baseURL"` // the gateway URL the subscriber was given
	Queue    string            `json:"queue"`   // destination core queue (sqs) or the delivery queue
}

func (s *snsSub) arn() string { return s.TopicArn + ":" + s.ID }

func (s *snsSub) clone() *snsSub {
	c := *s
	c.Attrs = cloneMap(s.Attrs)
	return &c
}

// snsService serves the SNS API (Query protocol) over core exchanges.
type snsService struct {
	b    *core.Broker
	now  func() time.Time
	log  *slog.Logger
	sign *signer
	push *pushPool

	mu     sync.Mutex // guards topics, subs and runs
	topics map[qkey]*snsTopic
	subs   map[string]*snsSub // by id
	runs   map[string]*subRun // running delivery consumers, by subscription id

	sigs        sigCache
	sigVersions sync.Map // vhost "\x00" topic → SignatureVersion attribute (read on the publish path)
}

func newSNSService(b *core.Broker, now func() time.Time, log *slog.Logger) (*snsService, error) {
	s := &snsService{b: b, now: now, log: log, topics: map[qkey]*snsTopic{}, subs: map[string]*snsSub{},
		runs: map[string]*subRun{}}
	var err error
	if s.sign, err = loadSigner(b.Store(), now); err != nil {
		return nil, err
	}
	s.push = newPushPool(s, pushWorkers)
	st := b.Store()
	err = st.Defs(defKindTopic, func(_ string, val []byte) error {
		var t snsTopic
		if json.Unmarshal(val, &t) == nil && t.Attrs != nil {
			s.topics[qkey{t.Vhost, t.Name}] = &t
			s.sigVersions.Store(t.Vhost+"\x00"+t.Name, t.Attrs["SignatureVersion"])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = st.Defs(defKindSub, func(_ string, val []byte) error {
		var sub snsSub
		if json.Unmarshal(val, &sub) == nil && sub.ID != "" {
			s.subs[sub.ID] = &sub
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, sub := range s.subs {
		if err := s.activate(sub); err != nil {
			s.log.Warn("sns: subscription not restored", "subscription", sub.arn(), "err", err)
		}
	}
	return s, nil
}

// close stops the push workers.
func (s *snsService) close() { s.push.close() }

func (s *snsService) saveTopic(t *snsTopic) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := s.b.Store().PutDef(defKindTopic, t.Vhost+"\x00"+t.Name, data); err != nil {
		return &core.Error{Kind: core.ErrStore, Text: "store failure", Err: err}
	}
	s.sigVersions.Store(t.Vhost+"\x00"+t.Name, t.Attrs["SignatureVersion"])
	return nil
}

func (s *snsService) saveSub(sub *snsSub) error {
	data, err := json.Marshal(sub)
	if err != nil {
		return err
	}
	if err := s.b.Store().PutDef(defKindSub, sub.ID, data); err != nil {
		return &core.Error{Kind: core.ErrStore, Text: "store failure", Err: err}
	}
	return nil
}

// handle dispatches an SNS action.
func (s *snsService) handle(req *request) (any, *apiError) {
	h, ok := snsActions[req.action]
	if !ok {
		return nil, errInvalidAction(req.action)
	}
	return h(s, req)
}

// snsActions maps action names to handlers.
var snsActions map[string]func(*snsService, *request) (any, *apiError)

func init() {
	snsActions = map[string]func(*snsService, *request) (any, *apiError){
		"CreateTopic":               (*snsService).createTopic,
		"DeleteTopic":               (*snsService).deleteTopic,
		"ListTopics":                (*snsService).listTopics,
		"GetTopicAttributes":        (*snsService).getTopicAttributes,
		"SetTopicAttributes":        (*snsService).setTopicAttributes,
		"TagResource":               (*snsService).tagResource,
		"UntagResource":             (*snsService).untagResource,
		"ListTagsForResource":       (*snsService).listTagsForResource,
		"AddPermission":             (*snsService).addPermission,
		"RemovePermission":          (*snsService).removePermission,
		"Subscribe":                 (*snsService).subscribe,
		"ConfirmSubscription":       (*snsService).confirmSubscription,
		"Unsubscribe":               (*snsService).unsubscribe,
		"ListSubscriptions":         (*snsService).listSubscriptions,
		"ListSubscriptionsByTopic":  (*snsService).listSubscriptionsByTopic,
		"GetSubscriptionAttributes": (*snsService).getSubscriptionAttributes,
		"SetSubscriptionAttributes": (*snsService).setSubscriptionAttributes,
		"Publish":                   (*snsService).publish,
		"PublishBatch":              (*snsService).publishBatch,
	}
}

// snsPublicAction reports whether an unsigned request may run an action:
// the SubscribeURL and UnsubscribeURL of a notification are plain GETs, as
// AWS serves them (the token or the subscription id is the secret).
func snsPublicAction(action string) bool {
	return action == "ConfirmSubscription" || action == "Unsubscribe"
}

// arnParts splits an SNS ARN into region, account and resource, with
// AWS's texts for malformed ones (param names the parameter).
func arnParts(arn, param string) (region, account, resource string, aerr *apiError) {
	if arn == "" {
		return "", "", "", errSNSMissing(param)
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return "", "", "", errSNSParam("%s Reason: An ARN must have at least 6 elements, not %d", param,
			len(strings.Split(arn, ":")))
	}
	if parts[0] != "arn" || parts[2] != "sns" {
		return "", "", "", errSNSParam("%s", param)
	}
	return parts[3], parts[4], parts[5], nil
}

// vhostOf maps an account to its vhost and checks the user's access.
func (s *snsService) vhostOf(req *request, account, region string) (*core.Vhost, *apiError) {
	if region == "" {
		region = req.id4.region
	}
	name, ok := s.b.Users().VhostForAccount(account, region)
	if !ok {
		return nil, errTopicNotFound()
	}
	v, err := s.b.Vhost(name)
	if err != nil {
		return nil, errTopicNotFound()
	}
	if !req.id4.anyKey && req.id4.user != "" && s.b.Users().CheckVhostAccess(req.id4.user, name) != nil {
		return nil, errSNSAuthorization(account)
	}
	return v, nil
}

// topicByArn resolves a topic ARN (param names the parameter in errors).
func (s *snsService) topicByArn(req *request, arn, param string) (*core.Vhost, *snsTopic, *apiError) {
	region, account, name, aerr := arnParts(arn, param)
	if aerr != nil {
		return nil, nil, aerr
	}
	v, aerr := s.vhostOf(req, account, region)
	if aerr != nil {
		return nil, nil, aerr
	}
	s.mu.Lock()
	t := s.topics[qkey{v.Name(), name}]
	if t != nil {
		t = t.clone()
	}
	s.mu.Unlock()
	if t == nil {
		return nil, nil, errTopicNotFound()
	}
	return v, t, nil
}

// checkTopicPerm checks a RabbitMQ permission on the topic's exchange
// (perm 'c' configure, 'w' write, 'r' read).
func (s *snsService) checkTopicPerm(req *request, t *snsTopic, perm byte) *apiError {
	if req.id4.anyKey || req.id4.user == "" {
		return nil
	}
	users := s.b.Users()
	var err error
	switch perm {
	case 'c':
		err = users.CheckConfigure(req.id4.user, t.Vhost, auth.ResourceExchange, t.Name)
	case 'w':
		err = users.CheckWrite(req.id4.user, t.Vhost, auth.ResourceExchange, t.Name)
	case 'r':
		err = users.CheckRead(req.id4.user, t.Vhost, auth.ResourceExchange, t.Name)
	}
	if err != nil {
		return errSNSAuthorization(t.arn())
	}
	return nil
}

// accountOf is the account of a request that names no resource.
func (s *snsService) accountOf(req *request) string { return requestAccount(s.b.Users(), req) }

// baseURL is the gateway's URL as the client reached it (http or https).
func baseURL(req *request) string {
	if req.tls {
		return "https://" + req.host
	}
	return "http://" + req.host
}

// snsUnsigned reports whether an unsigned request is a SubscribeURL or
// UnsubscribeURL visit, which AWS serves without a signature. Its identity
// is left without a user: the handlers check the token or subscription id.
func snsUnsigned(req *request, r *http.Request) bool {
	if req.service != "sns" || !snsPublicAction(req.action) || r.Header.Get("Authorization") != "" ||
		r.URL.Query().Get("X-Amz-Signature") != "" {
		return false
	}
	req.id4 = identity{region: req.id4.region}
	return true
}

// serveCert answers GET SNSSigningCertPath with the signing certificate.
func (s *snsService) serveCert(w http.ResponseWriter) {
	pem, err := s.sign.cert()
	if err != nil {
		http.Error(w, "certificate unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(pem)
}
