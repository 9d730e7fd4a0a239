package awsgw

import (
	"context"
	"crypto/md5"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/junctionmq/junction/core/message"
)

type sendInput struct {
	QueueUrl                string             `json:"QueueUrl"`
	Id                      string             `json:"Id"` // batch entries
	MessageBody             *string            `json:"MessageBody"`
	DelaySeconds            optInt             `json:"DelaySeconds"`
	MessageAttributes       map[string]msgAttr `json:"MessageAttributes"`
	MessageSystemAttributes map[string]msgAttr `json:"MessageSystemAttributes"`
	MessageDeduplicationId  *string            `json:"MessageDeduplicationId"`
	MessageGroupId          *string            `json:"MessageGroupId"`
}

type sendOutput struct {
	Id                           string `json:"Id,omitempty"`
	MD5OfMessageBody             string `json:"MD5OfMessageBody"`
	MD5OfMessageAttributes       string `json:"MD5OfMessageAttributes,omitempty"`
	MD5OfMessageSystemAttributes string `json:"MD5OfMessageSystemAttributes,omitempty"`
	MessageId                    string `json:"MessageId"`
	SequenceNumber               string `json:"SequenceNumber,omitempty"`
}

const maxAttributes = 10

func (s *sqsService) sendMessage(req *request) (any, *apiError) {
	var in sendInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.resolveShared(req, in.QueueUrl, 'w')
	if aerr != nil {
		return nil, aerr
	}
	m, out, aerr := s.buildMessage(req, t, &in, nil)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.publish(req.ctx, t, []*message.Message{m}); aerr != nil {
		return nil, aerr
	}
	s.answerSend(t, m, out)
	return out, nil
}

// answerSend fills a FIFO send's SequenceNumber; a send deduplicated
// within the window is answered with the original message's MessageId and
// SequenceNumber, as AWS answers it.
func (s *sqsService) answerSend(t *target, m *message.Message, out *sendOutput) {
	if !t.meta.fifo() {
		return
	}
	out.SequenceNumber = seqNumber(m.ID)
	if o, ok := t.q.Deduplicated(m.DedupID); ok && o.ID != m.ID {
		out.SequenceNumber = seqNumber(o.ID)
		out.MessageId = o.MessageID
		if o.MessageID == "" { // first sent by another face
			out.MessageId = messageID(&message.Message{ID: o.ID})
		}
	}
}

// seqNumber formats a FIFO sequence number (the core message id).
func seqNumber(id uint64) string { return fmt.Sprintf("%020d", id) }

// sqsPair is a message and its AWS metadata, in one allocation: every
// SQS message carries an AWSMeta (the FIFO fields are set by
// applySendOptions).
type sqsPair struct {
	m   message.Message
	aws message.AWSMeta
}

// sendSlab holds a SendMessageBatch's messages, answers, bodies and
// texts (message ids, MD5s) in four allocations instead of five per
// entry. A message keeps its
// batch's slab alive until every message of it is gone: at most 10
// entries and the batch's 1 MiB limit.
type sendSlab struct {
	pairs  []sqsPair
	outs   []sendOutput
	bodies []byte
	texts  *textSlab
}

// newSendSlab sizes a slab for the entries of a batch.
func newSendSlab(entries []sendInput) *sendSlab {
	n := 0
	for i := range entries {
		if b := entries[i].MessageBody; b != nil {
			n += len(*b)
		}
	}
	return &sendSlab{pairs: make([]sqsPair, 0, len(entries)), outs: make([]sendOutput, 0, len(entries)),
		bodies: make([]byte, 0, n), texts: newTextSlab(len(entries) * (uuidLen + 2*md5.Size))}
}

// textSlab returns the slab's texts (nil without a slab).
func (sl *sendSlab) textSlab() *textSlab {
	if sl == nil {
		return nil
	}
	return sl.texts
}

// bodyBytes copies body into the slab (a fresh slice without slab).
func (sl *sendSlab) bodyBytes(body string) []byte {
	if sl == nil || cap(sl.bodies)-len(sl.bodies) < len(body) {
		return []byte(body)
	}
	from := len(sl.bodies)
	sl.bodies = append(sl.bodies, body...)
	return sl.bodies[from:len(sl.bodies):len(sl.bodies)]
}

// pair returns a zero message pair (from the slab when there is one).
func (sl *sendSlab) pair() *sqsPair {
	if sl == nil || len(sl.pairs) == cap(sl.pairs) {
		return new(sqsPair)
	}
	sl.pairs = sl.pairs[:len(sl.pairs)+1]
	return &sl.pairs[len(sl.pairs)-1]
}

// out returns a zero send answer (from the slab when there is one).
func (sl *sendSlab) out() *sendOutput {
	if sl == nil || len(sl.outs) == cap(sl.outs) {
		return new(sendOutput)
	}
	sl.outs = sl.outs[:len(sl.outs)+1]
	return &sl.outs[len(sl.outs)-1]
}

// buildMessage validates one send and makes its core message; slab (nil
// for a single send) provides its memory.
func (s *sqsService) buildMessage(req *request, t *target, in *sendInput, slab *sendSlab) (*message.Message, *sendOutput, *apiError) {
	if in.MessageBody == nil || *in.MessageBody == "" {
		return nil, nil, errMissingParameter("MessageBody")
	}
	body := slab.bodyBytes(*in.MessageBody)
	if r, ok := validBody(body); !ok {
		return nil, nil, newErr(400, "InvalidMessageContents", "InvalidMessageContents",
			"Invalid binary character '#x%X' was found in the message body, the set of allowed characters is "+
				"#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", r)
	}
	size, aerr := checkMsgAttrs(in.MessageAttributes)
	if aerr != nil {
		return nil, nil, aerr
	}
	if limit := t.meta.intAttr("MaximumMessageSize"); int64(len(body)+size) > limit {
		return nil, nil, errInvalidParameterValue("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", limit)
	}
	now := s.now()
	pair := slab.pair()
	pair.m = message.Message{RoutingKey: t.q.Name(), Body: body, Origin: message.FaceSQS, Arrived: now.UnixNano()}
	m := &pair.m
	m.AWS = &pair.aws
	if aerr := s.applySendOptions(t, in, m, now); aerr != nil {
		return nil, nil, aerr
	}
	ts := slab.textSlab()
	id := newUUIDIn(ts)
	m.Props = message.Properties{Flags: message.FlagDeliveryMode | message.FlagMessageID | message.FlagTimestamp,
		DeliveryMode: 2, MessageID: id, Timestamp: now.Unix()}
	if req.id4.user != "" {
		m.Props.Flags |= message.FlagUserID
		m.Props.UserID = req.id4.user
	}
	out := slab.out()
	*out = sendOutput{Id: in.Id, MD5OfMessageBody: md5HexIn(ts, body), MessageId: id,
		MD5OfMessageAttributes: md5OfAttributes(in.MessageAttributes)}
	for _, n := range sortedAttrNames(in.MessageAttributes) {
		a := in.MessageAttributes[n]
		sa := message.SQSAttribute{Name: n, DataType: a.DataType, BinaryValue: a.BinaryValue}
		if a.StringValue != nil {
			sa.StringValue = *a.StringValue
		}
		m.AWS.SQSAttributes = append(m.AWS.SQSAttributes, sa)
		m.Props.Headers = append(m.Props.Headers, attrHeader(sa))
	}
	if len(m.Props.Headers) > 0 {
		m.Props.Flags |= message.FlagHeaders
	}
	if tr, ok := in.MessageSystemAttributes["AWSTraceHeader"]; ok && tr.StringValue != nil {
		m.Props.Flags |= message.FlagHeaders
		m.Props.Headers = m.Props.Headers.Set(traceHeader, *tr.StringValue)
		out.MD5OfMessageSystemAttributes = md5OfAttributes(map[string]msgAttr{"AWSTraceHeader": tr})
	}
	return m, out, nil
}

// traceHeader carries the AWSTraceHeader system attribute as a header.
const traceHeader = "x-amzn-trace-id"

// applySendOptions applies DelaySeconds, MessageGroupId and
// MessageDeduplicationId.
func (s *sqsService) applySendOptions(t *target, in *sendInput, m *message.Message, now time.Time) *apiError {
	fifo := t.meta.fifo()
	var delay int64
	explicit := false
	if in.DelaySeconds.Set {
		d := in.DelaySeconds
		if d.Bad != "" || d.Value < 0 || d.Value > maxDelaySeconds {
			return errInvalidParam(d.Value, "DelaySeconds", "DelaySeconds must be >= 0 and <= 900.")
		}
		if fifo && d.Value != 0 {
			return errInvalidParam(d.Value, "DelaySeconds", "The request include parameter that is not valid for this queue type.")
		}
		if !fifo {
			delay, explicit = d.Value, true
		}
	}
	if explicit {
		// The queue applies its DelaySeconds (DefaultDelay) to messages
		// without DelayUntil; a message's own DelaySeconds, 0 too, wins.
		m.DelayUntil = now.Add(time.Duration(delay) * time.Second).UnixNano()
	}
	if in.MessageGroupId != nil {
		if !validID(*in.MessageGroupId) {
			return errInvalidParam(*in.MessageGroupId, "MessageGroupId",
				"MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
		}
	} else if fifo {
		return errMissingParameter("MessageGroupId")
	}
	if in.MessageDeduplicationId != nil && !validID(*in.MessageDeduplicationId) {
		return errInvalidParam(*in.MessageDeduplicationId, "MessageDeduplicationId",
			"MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
	}
	if !fifo {
		if in.MessageDeduplicationId != nil {
			return errInvalidParameterValue("The request include parameter MessageDeduplicationId which is not valid for this queue type")
		}
		return nil
	}
	m.AWS.MessageGroupID = *in.MessageGroupId // m.AWS is a fresh AWSMeta (buildMessage)
	m.GroupID = *in.MessageGroupId
	switch {
	case in.MessageDeduplicationId != nil:
		m.DedupID = *in.MessageDeduplicationId
	case t.meta.Attrs["ContentBasedDeduplication"] == "true":
		m.DedupID = contentDedupID(m.Body)
	default:
		return errInvalidParameterValue("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
	}
	m.AWS.DeduplicationID = m.DedupID
	if t.meta.Attrs["DeduplicationScope"] == "messageGroup" {
		m.DedupID = m.GroupID + "\x00" + m.DedupID
	}
	return nil
}

// validID checks a MessageGroupId or MessageDeduplicationId: 1-128
// printable ASCII characters without spaces.
func validID(s string) bool {
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// checkMsgAttrs validates message attributes and returns their size as
// SQS counts it toward the message size.
func checkMsgAttrs(attrs map[string]msgAttr) (int, *apiError) {
	if len(attrs) > maxAttributes {
		return 0, errInvalidParameterValue("Number of message attributes [%d] exceeds the allowed maximum [%d].", len(attrs), maxAttributes)
	}
	size := 0
	for _, n := range sortedAttrNames(attrs) {
		a := attrs[n]
		if !validAttrName(n) {
			return 0, errInvalidParameterValue("Message (user) attribute name '%s' is invalid. Valid attribute names can contain "+
				"alphanumeric characters, hyphens (-), underscores (_), and periods (.), and cannot start with AWS. or Amazon.", n)
		}
		if a.DataType == "" {
			return 0, errInvalidParameterValue("The message attribute '%s' must contain non-empty message attribute type.", n)
		}
		base, _, _ := strings.Cut(a.DataType, ".")
		switch base {
		case "String", "Number":
			if a.StringValue == nil || *a.StringValue == "" {
				return 0, errInvalidParameterValue("Message (user) attribute '%s' must contain a non-empty value of type '%s'.", n, base)
			}
			if base == "Number" {
				if _, err := strconv.ParseFloat(*a.StringValue, 64); err != nil {
					return 0, errInvalidParameterValue("Could not cast message attribute '%s' value to number.", n)
				}
			}
			size += len(*a.StringValue)
		case "Binary":
			if len(a.BinaryValue) == 0 {
				return 0, errInvalidParameterValue("Message (user) attribute '%s' must contain a non-empty value of type 'Binary'.", n)
			}
			size += len(a.BinaryValue)
		default:
			return 0, errInvalidParameterValue("The type of message (user) attribute '%s' is invalid. You must use only the "+
				"following supported type prefixes: Binary, Number, String.", n)
		}
		size += len(n) + len(a.DataType)
	}
	return size, nil
}

func validAttrName(n string) bool {
	l := strings.ToLower(n)
	if n == "" || len(n) > 256 || strings.HasPrefix(l, "aws.") || strings.HasPrefix(l, "amazon.") ||
		n[0] == '.' || n[len(n)-1] == '.' || strings.Contains(n, "..") {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func sortedAttrNames(attrs map[string]msgAttr) []string {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sortStrings(names)
	return names
}

// publish publishes persistent messages to the queue through the default
// exchange and waits until every one is durable (SQS's 200 means stored).
func (s *sqsService) publish(ctx context.Context, t *target, msgs []*message.Message) *apiError {
	done := make(chan bool, len(msgs))
	confirm := func(ack bool) { done <- ack } // one closure for the batch, not one per message
	for _, m := range msgs {
		routed, err := t.vhost.Publish(m, confirm)
		if err != nil {
			return toAPIError(err)
		}
		if !routed {
			return errNonExistentQueue()
		}
	}
	for range msgs {
		select {
		case ok := <-done:
			if !ok {
				return s.nackError(t)
			}
		case <-ctx.Done():
			return errInternal()
		}
	}
	return nil
}

// nackError answers a refused publish: a queue deleted since the request
// resolved it (its messages are dropped, not stored) is
// QueueDoesNotExist, as AWS answers a send to a deleted queue; anything
// else is an internal failure.
func (s *sqsService) nackError(t *target) *apiError {
	if q, err := t.vhost.Queue(t.q.Name()); err != nil || q != t.q {
		return errNonExistentQueue()
	}
	return errInternal()
}

// attrHeader is the AMQP header an SQS message attribute shows to the other
// faces: String and Number values as long strings, Binary as a byte array
// (docs/message-mapping.md). The attribute itself, with its full data type
// label, travels in m.AWS for SQS receivers.
func attrHeader(a message.SQSAttribute) message.Field {
	if isBinaryType(a.DataType) {
		return message.Field{Key: a.Name, Value: a.BinaryValue}
	}
	return message.Field{Key: a.Name, Value: a.StringValue}
}
