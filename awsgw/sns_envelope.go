package awsgw

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/junctionmq/junction/awsgw/snsfilter"
	"github.com/junctionmq/junction/core/message"
)

// Headers the SNS face puts on the messages it publishes to a topic's
// exchange (AMQP consumers bound to the exchange see them too).
const (
	hdrMessageStructure = "x-sns-message-structure" // "json": the body holds one message per protocol
)

// snsEnvelope is the JSON document AWS delivers when RawMessageDelivery is
// off, and the body of a SubscriptionConfirmation. Field order is AWS's.
type snsEnvelope struct {
	Type              string             `json:"Type"`
	MessageId         string             `json:"MessageId"` //nolint:revive // AWS's name
	Token             string             `json:"Token,omitempty"`
	TopicArn          string             `json:"TopicArn"`
	Subject           string             `json:"Subject,omitempty"`
	Message           string             `json:"Message"`
	SubscribeURL      string             `json:"SubscribeURL,omitempty"`
	Timestamp         string             `json:"Timestamp"`
	SequenceNumber    string             `json:"SequenceNumber,omitempty"`
	SignatureVersion  string             `json:"SignatureVersion"`
	Signature         string             `json:"Signature"`
	SigningCertURL    string             `json:"SigningCertURL"`
	UnsubscribeURL    string             `json:"UnsubscribeURL,omitempty"`
	MessageAttributes map[string]envAttr `json:"MessageAttributes,omitempty"`
}

// envAttr is a message attribute in the envelope.
type envAttr struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// encode marshals the envelope without HTML escaping, as AWS sends it.
func (e *snsEnvelope) encode() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(e)
	return bytes.TrimRight(b.Bytes(), "\n")
}

const snsTimeFormat = "2006-01-02T15:04:05.000Z"

// snsURL builds a gateway URL for an SNS action (SubscribeURL,
// UnsubscribeURL): Version tells the gateway it is SNS.
func snsURL(base string, params ...string) string {
	q := url.Values{"Version": {"2010-03-31"}}
	for i := 0; i+1 < len(params); i += 2 {
		q.Set(params[i], params[i+1])
	}
	return base + "/?" + q.Encode()
}

// sign fills Signature, SignatureVersion and SigningCertURL.
func (s *snsService) signEnvelope(e *snsEnvelope, version, base string) error {
	if version != "2" {
		version = "1"
	}
	sig, err := s.sign.signString(stringToSign(e), version)
	if err != nil {
		return err
	}
	e.SignatureVersion, e.Signature, e.SigningCertURL = version, sig, base+SNSSigningCertPath
	return nil
}

// subTransform turns a topic message into what one subscription receives:
// the signed JSON envelope, or the raw message with its attributes.
type subTransform struct {
	s   *snsService
	sub *snsSub // immutable copy
	raw bool
}

func (s *snsService) newTransform(sub *snsSub) *subTransform {
	return &subTransform{s: s, sub: sub.clone(), raw: sub.Attrs["RawMessageDelivery"] == "true"}
}

// Transform implements route.Transform. It never modifies m.
func (t *subTransform) Transform(m *message.Message) *message.Message {
	c := *m
	c.Props.Headers = m.Props.Headers.Delete(hdrMessageStructure)
	if len(c.Props.Headers) == 0 && len(m.Props.Headers) > 0 {
		c.Props.Flags &^= message.FlagHeaders
	}
	msgID := snsMessageID(m)
	c.Props.MessageID, c.Props.Flags = msgID, c.Props.Flags|message.FlagMessageID
	text := messageFor(m, t.sub.Protocol)
	if t.raw {
		c.Body = []byte(text)
		if m.AWS != nil {
			aws := *m.AWS
			aws.SQSAttributes = rawAttrs(m.AWS.SQSAttributes)
			c.AWS = &aws
		}
		return &c
	}
	env := &snsEnvelope{Type: "Notification", MessageId: msgID, TopicArn: t.sub.TopicArn, Message: text,
		Timestamp:      time.Unix(0, m.Arrived).UTC().Format(snsTimeFormat),
		UnsubscribeURL: snsURL(t.sub.BaseURL, "Action", "Unsubscribe", "SubscriptionArn", t.sub.arn())}
	if m.AWS != nil {
		env.Subject = m.AWS.SNSSubject
		env.MessageAttributes = envAttrs(m.AWS.SQSAttributes)
		aws := *m.AWS
		aws.SQSAttributes = nil
		c.AWS = &aws
	}
	sig, err := t.s.cachedSignature(m.ID, env, t.s.topicSigVersion(t.sub.Vhost, t.sub.Topic))
	if err == nil {
		env.SignatureVersion, env.Signature = sig.version, sig.sig
		env.SigningCertURL = t.sub.BaseURL + SNSSigningCertPath
	}
	c.Body = env.encode()
	c.Props.ContentType, c.Props.Flags = "text/plain; charset=UTF-8", c.Props.Flags|message.FlagContentType
	return &c
}

// snsMessageID is the SNS MessageId of a topic message: the one Publish
// set, or one derived from the core id for messages from other faces.
func snsMessageID(m *message.Message) string {
	if m.Props.Flags&message.FlagMessageID != 0 && m.Props.MessageID != "" {
		return m.Props.MessageID
	}
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", m.ID&0xffffffffffff)
}

// messageFor picks the text for a protocol from a MessageStructure=json
// body, or returns the body.
func messageFor(m *message.Message, protocol string) string {
	if v, ok := m.Props.Headers.Get(hdrMessageStructure); !ok || v != "json" {
		return string(m.Body)
	}
	var per map[string]any
	if json.Unmarshal(m.Body, &per) != nil {
		return string(m.Body)
	}
	if s, ok := per[protocol].(string); ok {
		return s
	}
	s, _ := per["default"].(string)
	return s
}

// rawAttrs are the SQS attributes of a raw delivery: String.Array is sent
// to SQS as String, as AWS does.
func rawAttrs(in []message.SQSAttribute) []message.SQSAttribute {
	out := make([]message.SQSAttribute, len(in))
	for i, a := range in {
		out[i] = a
		if strings.HasPrefix(a.DataType, "String.Array") {
			out[i].DataType = "String"
		}
	}
	return out
}

func envAttrs(in []message.SQSAttribute) map[string]envAttr {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]envAttr, len(in))
	for _, a := range in {
		v := a.StringValue
		if strings.HasPrefix(a.DataType, "Binary") {
			v = base64.StdEncoding.EncodeToString(a.BinaryValue)
		}
		out[a.Name] = envAttr{Type: a.DataType, Value: v}
	}
	return out
}

// sigEntry is one cached signature: the subscriptions of a topic receive
// the same signed fields, so one RSA signature serves them all.
type sigEntry struct {
	id           uint64
	text         string
	version, sig string
}

// sigCache remembers the last signatures made.
type sigCache struct {
	mu      sync.Mutex // guards entries
	entries [8]sigEntry
	next    int
}

func (s *snsService) cachedSignature(id uint64, env *snsEnvelope, version string) (sigEntry, error) {
	if version != "2" {
		version = "1"
	}
	text := stringToSign(env)
	c := &s.sigs
	c.mu.Lock()
	for _, e := range c.entries {
		if e.id == id && e.version == version && e.text == text {
			c.mu.Unlock()
			return e, nil
		}
	}
	c.mu.Unlock()
	sig, err := s.sign.signString(text, version)
	if err != nil {
		return sigEntry{}, err
	}
	e := sigEntry{id: id, text: text, version: version, sig: sig}
	c.mu.Lock()
	c.entries[c.next] = e
	c.next = (c.next + 1) % len(c.entries)
	c.mu.Unlock()
	return e, nil
}

// topicSigVersion returns a topic's SignatureVersion attribute.
func (s *snsService) topicSigVersion(vhost, topic string) string {
	v, _ := s.sigVersions.Load(vhost + "\x00" + topic)
	str, _ := v.(string)
	return str
}

// subMatcher is a subscription's filter policy as a binding Matcher.
type subMatcher struct {
	p    *snsfilter.Policy
	body bool
}

func newSubMatcher(sub *snsSub) (*subMatcher, error) {
	fp := sub.Attrs["FilterPolicy"]
	if fp == "" {
		return nil, nil
	}
	p, err := snsfilter.Parse(fp)
	if err != nil {
		return nil, err
	}
	return &subMatcher{p: p, body: sub.Attrs["FilterPolicyScope"] == "MessageBody"}, nil
}

// Match implements route.Matcher.
func (f *subMatcher) Match(m *message.Message) bool {
	if f.body {
		return f.p.MatchBody(m.Body)
	}
	return f.p.MatchAttributes(filterAttrs(m))
}

// filterAttrs are the attributes a policy sees: the SNS (or SQS) message
// attributes, else the string and number headers of an AMQP message.
func filterAttrs(m *message.Message) map[string]snsfilter.Attribute {
	out := map[string]snsfilter.Attribute{}
	if m.AWS != nil && len(m.AWS.SQSAttributes) > 0 {
		for _, a := range m.AWS.SQSAttributes {
			out[a.Name] = snsfilter.Attribute{Type: a.DataType, Value: a.StringValue}
		}
		return out
	}
	for _, f := range m.Props.Headers {
		switch v := f.Value.(type) {
		case string:
			out[f.Key] = snsfilter.Attribute{Type: "String", Value: v}
		case float32, float64:
			out[f.Key] = snsfilter.Attribute{Type: "Number", Value: fmt.Sprint(v)}
		default:
			if n, ok := message.Int(v); ok {
				out[f.Key] = snsfilter.Attribute{Type: "Number", Value: fmt.Sprint(n)}
			}
		}
	}
	return out
}
