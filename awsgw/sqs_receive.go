package awsgw

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
)

// BodyEncodingAttribute is the message attribute the gateway adds when a
// message published by another face has a body SQS cannot carry (bytes
// outside SQS's character set): the body is then delivered base64-encoded
// and this String attribute has the value "base64".
const BodyEncodingAttribute = "junction.body-encoding"

type receiveInput struct {
	QueueUrl                    string   `json:"QueueUrl"`
	AttributeNames              []string `json:"AttributeNames"`
	MessageSystemAttributeNames []string `json:"MessageSystemAttributeNames"`
	MessageAttributeNames       []string `json:"MessageAttributeNames"`
	MaxNumberOfMessages         optInt   `json:"MaxNumberOfMessages"`
	VisibilityTimeout           optInt   `json:"VisibilityTimeout"`
	WaitTimeSeconds             optInt   `json:"WaitTimeSeconds"`
	ReceiveRequestAttemptId     string   `json:"ReceiveRequestAttemptId"`
}

type sqsMessage struct {
	MessageId              string             `json:"MessageId"`
	ReceiptHandle          string             `json:"ReceiptHandle"`
	MD5OfBody              string             `json:"MD5OfBody"`
	Body                   string             `json:"Body"`
	Attributes             map[string]string  `json:"Attributes,omitempty" xml:"Attribute"`
	MD5OfMessageAttributes string             `json:"MD5OfMessageAttributes,omitempty"`
	MessageAttributes      map[string]msgAttr `json:"MessageAttributes,omitempty" xml:"MessageAttribute"`
}

type receiveOutput struct {
	Messages []sqsMessage `json:"Messages,omitempty" xml:"Message"`
}

func (s *sqsService) receiveMessage(req *request) (any, *apiError) {
	var in receiveInput
	if aerr := decodeInput(req, &in); aerr != nil {
		return nil, aerr
	}
	t, aerr := s.resolveShared(req, in.QueueUrl, 'r')
	if aerr != nil {
		return nil, aerr
	}
	n, wait, vis, aerr := receiveLimits(&in, t.meta)
	if aerr != nil {
		return nil, aerr
	}
	ds := t.q.Lease(n, vis)
	if len(ds) == 0 && wait > 0 {
		ctx, cancel := context.WithTimeout(req.ctx, wait)
		var err error
		ds, err = t.q.LeaseWait(ctx, n, vis)
		cancel()
		if err != nil && errors.Is(err, queue.ErrDeleted) {
			return nil, errNonExistentQueue()
		}
	}
	tf := s.b.Tally().Face(message.FaceSQS)
	tf.Delivered(len(ds))
	for _, d := range ds {
		if d.Redelivered {
			tf.Redelivered(1)
		}
	}
	out := &receiveOutput{}
	if len(ds) > 0 {
		out.Messages = make([]sqsMessage, 0, len(ds))
	}
	sel := newAttrSelection(&in)
	var ts *textSlab
	if len(ds) > 0 {
		// Each message's body, MD5 and receipt handle in one buffer.
		n := 0
		rl := receiptLen(t.vhost.Name(), t.q.Name())
		for _, d := range ds {
			n += len(d.Msg.Body) + 2*md5.Size + rl
		}
		ts = newTextSlab(n)
	}
	for _, d := range ds {
		out.Messages = append(out.Messages, s.toSQSMessage(req, t, d, sel, ts))
	}
	return out, nil
}

// receiveLimits validates and defaults MaxNumberOfMessages,
// WaitTimeSeconds and VisibilityTimeout.
func receiveLimits(in *receiveInput, m *queueMeta) (int, time.Duration, time.Duration, *apiError) {
	n := int64(1)
	if v := in.MaxNumberOfMessages; v.Set {
		if v.Bad != "" || v.Value < 1 || v.Value > 10 {
			return 0, 0, 0, errInvalidParam(v.Value, "MaxNumberOfMessages", "Must be between 1 and 10, if provided.")
		}
		n = v.Value
	}
	wait := m.intAttr("ReceiveMessageWaitTimeSeconds")
	if v := in.WaitTimeSeconds; v.Set {
		if v.Bad != "" || v.Value < 0 || v.Value > maxWaitSeconds {
			return 0, 0, 0, errInvalidParam(v.Value, "WaitTimeSeconds", "Must be >= 0 and <= 20, if provided.")
		}
		wait = v.Value
	}
	vis := m.intAttr("VisibilityTimeout")
	if v := in.VisibilityTimeout; v.Set {
		if v.Bad != "" || v.Value < 0 || v.Value > maxVisibility {
			return 0, 0, 0, errInvalidParam(v.Value, "VisibilityTimeout", "Must be >= 0 and <= 43200, if provided.")
		}
		vis = v.Value
	}
	return int(n), time.Duration(wait) * time.Second, time.Duration(vis) * time.Second, nil
}

// attrSelection is what a receive asked to see.
type attrSelection struct {
	system   map[string]bool // system attribute names ("All" allowed)
	allUser  bool
	user     map[string]bool
	prefixes []string
}

func newAttrSelection(in *receiveInput) attrSelection {
	// The maps only when names were asked for (a nil map reads as empty).
	var sel attrSelection
	for _, n := range append(in.AttributeNames, in.MessageSystemAttributeNames...) {
		if sel.system == nil {
			sel.system = map[string]bool{}
		}
		sel.system[n] = true
	}
	for _, n := range in.MessageAttributeNames {
		switch {
		case n == "All" || n == ".*":
			sel.allUser = true
		case strings.HasSuffix(n, ".*"):
			sel.prefixes = append(sel.prefixes, strings.TrimSuffix(n, "*"))
		default:
			if sel.user == nil {
				sel.user = map[string]bool{}
			}
			sel.user[n] = true
		}
	}
	return sel
}

func (a attrSelection) wantSystem(n string) bool { return a.system["All"] || a.system[n] }

func (a attrSelection) wantUser(n string) bool {
	if a.allUser || a.user[n] {
		return true
	}
	for _, p := range a.prefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// toSQSMessage renders one leased delivery.
// ts (nil: none) holds its strings.
func (s *sqsService) toSQSMessage(req *request, t *target, d queue.Delivery, sel attrSelection, ts *textSlab) sqsMessage {
	m := d.Msg
	out := sqsMessage{MessageId: messageID(m)}
	out.ReceiptHandle = encodeReceiptIn(ts, s.key, receipt{vhost: t.vhost.Name(), queue: t.q.Name(),
		seq: d.Seq, msgID: m.ID, count: d.DeliveryCount})
	body := m.Body
	attrs := userAttributes(m)
	if _, ok := validBody(body); !ok {
		body = []byte(base64.StdEncoding.EncodeToString(m.Body))
		v := "base64"
		if attrs == nil {
			attrs = map[string]msgAttr{}
		}
		attrs[BodyEncodingAttribute] = msgAttr{DataType: "String", StringValue: &v}
	}
	out.Body, out.MD5OfBody = ts.text(body), md5HexIn(ts, body)
	for n, a := range attrs {
		if n == BodyEncodingAttribute || sel.wantUser(n) {
			if out.MessageAttributes == nil {
				out.MessageAttributes = map[string]msgAttr{}
			}
			out.MessageAttributes[n] = a
		}
	}
	out.MD5OfMessageAttributes = md5OfAttributes(out.MessageAttributes)
	if len(sel.system) == 0 {
		return out // no system attribute asked for: none computed
	}
	sys := s.systemAttributes(t, d)
	for n, v := range sys {
		if sel.wantSystem(n) {
			if out.Attributes == nil {
				out.Attributes = map[string]string{}
			}
			out.Attributes[n] = v
		}
	}
	return out
}

// messageID is the SQS MessageId of a message: the one SendMessage
// returned, or a UUID-shaped rendering of the core id for messages of other
// faces.
func messageID(m *message.Message) string {
	if m.Origin == message.FaceSQS && m.Props.MessageID != "" {
		return m.Props.MessageID
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[8+i] = byte(m.ID >> (56 - 8*i))
	}
	b[6] = 0x40
	b[8] = b[8]&0x3f | 0x80
	hex := func(p []byte) string {
		const d = "0123456789abcdef"
		o := make([]byte, 0, 2*len(p))
		for _, c := range p {
			o = append(o, d[c>>4], d[c&15])
		}
		return string(o)
	}
	return hex(b[0:4]) + "-" + hex(b[4:6]) + "-" + hex(b[6:8]) + "-" + hex(b[8:10]) + "-" + hex(b[10:16])
}

// userAttributes returns a message's SQS message attributes: those sent
// over SQS, or for other faces' messages their AMQP headers of string,
// number and byte types (nil when there are none).
func userAttributes(m *message.Message) map[string]msgAttr {
	if m.Origin == message.FaceSQS && (m.AWS == nil || len(m.AWS.SQSAttributes) == 0) {
		return nil // the common case: an SQS message without attributes
	}
	out := map[string]msgAttr{}
	if m.AWS != nil && len(m.AWS.SQSAttributes) > 0 {
		for _, a := range m.AWS.SQSAttributes {
			v := msgAttr{DataType: a.DataType, BinaryValue: a.BinaryValue}
			if !isBinaryType(a.DataType) {
				sv := a.StringValue
				v.StringValue = &sv
			}
			out[a.Name] = v
		}
		return out
	}
	if m.Origin == message.FaceSQS {
		return out
	}
	for _, f := range m.Props.Headers {
		if !validAttrName(f.Key) {
			continue
		}
		if a, ok := headerAttr(f.Value); ok {
			out[f.Key] = a
		}
	}
	return out
}

func headerAttr(v any) (msgAttr, bool) {
	str := func(t, s string) (msgAttr, bool) { return msgAttr{DataType: t, StringValue: &s}, s != "" }
	switch x := v.(type) {
	case string:
		if _, ok := validBody([]byte(x)); !ok {
			return msgAttr{DataType: "Binary", BinaryValue: []byte(x)}, x != ""
		}
		return str("String", x)
	case []byte:
		return msgAttr{DataType: "Binary", BinaryValue: x}, len(x) > 0
	case bool:
		return str("String", strconv.FormatBool(x))
	case int8, int16, int32, int64, uint8, uint16, uint32, uint64:
		return str("Number", toDecimal(x))
	case float32:
		return str("Number", strconv.FormatFloat(float64(x), 'g', -1, 32))
	case float64:
		return str("Number", strconv.FormatFloat(x, 'g', -1, 64))
	}
	return msgAttr{}, false
}

func toDecimal(v any) string {
	switch x := v.(type) {
	case int8:
		return strconv.FormatInt(int64(x), 10)
	case int16:
		return strconv.FormatInt(int64(x), 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint8:
		return strconv.FormatUint(uint64(x), 10)
	case uint16:
		return strconv.FormatUint(uint64(x), 10)
	case uint32:
		return strconv.FormatUint(uint64(x), 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	}
	return "0"
}

// systemAttributes computes a delivery's SQS system attributes.
func (s *sqsService) systemAttributes(t *target, d queue.Delivery) map[string]string {
	m := d.Msg
	first := d.FirstReceived / int64(time.Millisecond) // kept by the queue, in the store too
	if first == 0 {
		first = s.now().UnixMilli()
	}
	sender := m.Props.UserID
	if sender == "" {
		sender = t.account
	}
	out := map[string]string{
		"ApproximateReceiveCount":          strconv.FormatUint(uint64(d.DeliveryCount), 10),
		"ApproximateFirstReceiveTimestamp": strconv.FormatInt(first, 10),
		"SentTimestamp":                    strconv.FormatInt(m.Arrived/int64(time.Millisecond), 10),
		"SenderId":                         sender,
	}
	if v, ok := m.Props.Headers.Get(traceHeader); ok {
		if sv, ok := v.(string); ok {
			out["AWSTraceHeader"] = sv
		}
	}
	if t.meta.fifo() {
		out["SequenceNumber"] = seqNumber(m.ID)
		out["MessageGroupId"] = m.GroupID
		if m.AWS != nil {
			out["MessageDeduplicationId"] = m.AWS.DeduplicationID
		}
	} else if m.GroupID != "" {
		out["MessageGroupId"] = m.GroupID
	}
	return out
}
