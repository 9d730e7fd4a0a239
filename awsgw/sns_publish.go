package awsgw

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/tally"
)

// maxSNSMessage is AWS's limit on a message (and on a whole batch).
const maxSNSMessage = 256 * 1024

// snsPublishIn is one message to publish (Publish or a batch entry).
type snsPublishIn struct {
	Message, Subject, Structure, GroupID, DedupID string
	Attrs                                         []snsAttrIn
}

type publishOutput struct {
	MessageId      string `json:"MessageId"` //nolint:revive // AWS's name
	SequenceNumber string `json:"SequenceNumber,omitempty"`
}

// publish publishes one message to a topic and answers once every durable
// copy is stored.
func (s *snsService) publish(req *request) (any, *apiError) {
	if pn := req.form.Get("PhoneNumber"); pn != "" {
		return nil, errSNSParam("PhoneNumber Reason: %s is not valid to publish to", pn)
	}
	arn, param := req.form.Get("TopicArn"), "TopicArn"
	if arn == "" && req.form.Get("TargetArn") != "" {
		arn, param = req.form.Get("TargetArn"), "TargetArn"
	}
	v, t, aerr := s.topicByArn(req, arn, param)
	if aerr != nil {
		if param == "TargetArn" && aerr.Code == "NotFound" {
			return nil, errSNSParam("TargetArn Reason: No endpoint found for the target arn specified")
		}
		return nil, aerr
	}
	if aerr := s.checkTopicPerm(req, t, 'w'); aerr != nil {
		return nil, aerr
	}
	f := flatForm(req.form)
	in := snsPublishIn{Message: f["Message"], Subject: f["Subject"], Structure: f["MessageStructure"],
		GroupID: f["MessageGroupId"], DedupID: f["MessageDeduplicationId"],
		Attrs: formMessageAttrs(f, "")}
	m, aerr := s.buildMessage(t, &in, "messageAttributes")
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.publishAndWait(req, v, m); aerr != nil {
		return nil, aerr
	}
	return &publishOutput{MessageId: m.Props.MessageID, SequenceNumber: sequenceNumber(t, m)}, nil
}

// publishAndWait publishes m and waits for the store to confirm it.
func (s *snsService) publishAndWait(req *request, v *core.Vhost, m *message.Message) *apiError {
	done := make(chan bool, 1)
	routed, err := v.Publish(m, func(ack bool) { done <- ack })
	if err != nil {
		return snsAPIError(err)
	}
	if !routed {
		s.b.Tally().Face(message.FaceSNS).Dropped(tally.Unroutable, 1)
		return nil // no subscriber: nothing to store
	}
	select {
	case ack := <-done:
		if !ack {
			return errInternal()
		}
		return nil
	case <-req.ctx.Done():
		return errInternal()
	}
}

// sequenceNumber is the FIFO sequence number AWS returns (20 digits).
func sequenceNumber(t *snsTopic, m *message.Message) string {
	if !t.fifo() {
		return ""
	}
	return fmt.Sprintf("%020d", m.ID)
}

// buildMessage validates a publish and builds the core message. path
// names the attribute map in ValidationError texts.
func (s *snsService) buildMessage(t *snsTopic, in *snsPublishIn, path string) (*message.Message, *apiError) {
	if aerr := checkPublishBody(in); aerr != nil {
		return nil, aerr
	}
	attrs, aerr := checkSNSAttrs(in.Attrs, path)
	if aerr != nil {
		return nil, aerr
	}
	m := &message.Message{Exchange: t.Name, Body: []byte(in.Message), Origin: message.FaceSNS,
		Props: message.Properties{Flags: message.FlagDeliveryMode | message.FlagMessageID, DeliveryMode: 2,
			MessageID: newUUID()},
		AWS: &message.AWSMeta{SNSSubject: in.Subject, SQSAttributes: attrs}}
	if in.Structure == "json" {
		m.Props.Headers = message.Table{{Key: hdrMessageStructure, Value: "json"}}
		m.Props.Flags |= message.FlagHeaders
	}
	if aerr := fifoFields(t, in, m); aerr != nil {
		return nil, aerr
	}
	return m, nil
}

// checkPublishBody checks Message, Subject and MessageStructure.
func checkPublishBody(in *snsPublishIn) *apiError {
	if in.Message == "" {
		return errSNSParam("Empty message")
	}
	if len(in.Message) > maxSNSMessage {
		return errSNSParam("Message too long")
	}
	if in.Subject != "" && !validSubject(in.Subject) {
		return errSNSParam("Subject")
	}
	switch in.Structure {
	case "":
	case "json":
		var per map[string]any
		if json.Unmarshal([]byte(in.Message), &per) != nil {
			return errSNSParam("Message Structure - JSON message body failed to parse")
		}
		if _, ok := per["default"].(string); !ok {
			return errSNSParam("Message Structure - No default entry in JSON message body")
		}
	default:
		return errSNSParam("MessageStructure")
	}
	return nil
}

// validSubject: at most 100 printable ASCII characters, no line breaks.
func validSubject(s string) bool {
	if len(s) > 100 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}

// fifoFields applies FIFO rules: group id required, deduplication by id or
// content (SHA-256 of the body).
func fifoFields(t *snsTopic, in *snsPublishIn, m *message.Message) *apiError {
	if !t.fifo() {
		if in.DedupID != "" {
			return errSNSParam("MessageDeduplicationId Reason: The request includes MessageDeduplicationId " +
				"parameter that is not valid for this topic type")
		}
		return nil
	}
	if in.GroupID == "" {
		return errSNSParam("The MessageGroupId parameter is required for FIFO topics")
	}
	dedup := in.DedupID
	if dedup == "" {
		if t.Attrs["ContentBasedDeduplication"] != "true" {
			return errSNSParam("The topic should either have ContentBasedDeduplication enabled or " +
				"MessageDeduplicationId provided explicitly")
		}
		sum := sha256.Sum256([]byte(in.Message))
		dedup = hex.EncodeToString(sum[:])
	}
	m.GroupID, m.DedupID = in.GroupID, dedup
	m.AWS.MessageGroupID, m.AWS.DeduplicationID = in.GroupID, dedup
	return nil
}

var attrNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// checkSNSAttrs validates message attributes with AWS's texts.
func checkSNSAttrs(in []snsAttrIn, path string) ([]message.SQSAttribute, *apiError) {
	out := make([]message.SQSAttribute, 0, len(in))
	for _, a := range in {
		if aerr := checkAttrName(a.Name); aerr != nil {
			return nil, aerr
		}
		if a.DataType == nil {
			return nil, errSNSValidation("1 validation error detected: Value null at '%s.%s.member.dataType' "+
				"failed to satisfy constraint: Member must not be null", path, a.Name)
		}
		dt := *a.DataType
		base, _, _ := strings.Cut(dt, ".")
		if strings.HasPrefix(dt, "String.Array") {
			base = "String.Array"
		}
		attr := message.SQSAttribute{Name: a.Name, DataType: dt}
		switch base {
		case "String", "Number", "String.Array":
			if a.StringValue == nil {
				if a.BinaryValue != nil {
					return nil, errSNSAttrValue(fmt.Sprintf("The message attribute '%s' with type '%s' must use field 'String'.", a.Name, base))
				}
				return nil, errSNSAttrValue(fmt.Sprintf("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", a.Name, base))
			}
			if *a.StringValue == "" {
				return nil, errSNSAttrValue(fmt.Sprintf("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", a.Name, base))
			}
			if base == "Number" {
				if _, err := strconv.ParseFloat(*a.StringValue, 64); err != nil {
					return nil, errSNSAttrValue(fmt.Sprintf("An invalid or out-of-range value '%s' was supplied for the message attribute '%s' of type 'Number'.", *a.StringValue, a.Name))
				}
			}
			attr.StringValue = *a.StringValue
		case "Binary":
			if a.BinaryValue == nil {
				if a.StringValue != nil {
					return nil, errSNSAttrValue(fmt.Sprintf("The message attribute '%s' with type 'Binary' must use field 'Binary'.", a.Name))
				}
				return nil, errSNSAttrValue(fmt.Sprintf("The message attribute '%s' must contain non-empty message attribute value for message attribute type 'Binary'.", a.Name))
			}
			b, err := base64.StdEncoding.DecodeString(*a.BinaryValue)
			if err != nil || len(b) == 0 {
				return nil, errSNSAttrValue(fmt.Sprintf("The message attribute '%s' must contain non-empty message attribute value for message attribute type 'Binary'.", a.Name))
			}
			attr.BinaryValue = b
		default:
			return nil, errSNSAttrValue(fmt.Sprintf("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", a.Name))
		}
		out = append(out, attr)
	}
	return out, nil
}

// checkAttrName applies AWS's rules on attribute names.
func checkAttrName(n string) *apiError {
	switch {
	case len(n) >= 256:
		return errSNSAttrValue("Length of message attribute name must be less than 256 bytes.")
	case strings.HasPrefix(n, "."):
		return errSNSAttrValue("Invalid message attribute name starting with character '.' was found.")
	case strings.HasSuffix(n, "."):
		return errSNSAttrValue("Invalid message attribute name ending with character '.' was found.")
	case strings.Contains(n, ".."):
		return errSNSAttrValue("Message attribute name can not have successive '.' character.")
	case !attrNameRE.MatchString(n):
		for _, r := range n {
			if !(r == '_' || r == '-' || r == '.' || r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')) {
				return errSNSAttrValue(fmt.Sprintf("Invalid non-alphanumeric character '#x%X' was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots.", r))
			}
		}
	}
	return nil
}
