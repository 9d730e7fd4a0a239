package awsgw

import (
	"bytes"
	"sort"
	"strconv"
)

// The Query answers of the SQS hot path (SendMessage, SendMessageBatch,
// ReceiveMessage, DeleteMessageBatch) written without reflection. Each
// writes exactly what writeXMLFields writes for the same value (the
// differential test in sqs_xml_test.go holds them to it); a value the
// hand-written form does not cover (message attributes on a received
// message) is left to writeXMLFields.

// writeSQSResultXML writes the members of out's Result element and
// reports whether it did.
func writeSQSResultXML(b *bytes.Buffer, out any) bool {
	switch o := out.(type) {
	case *sendOutput:
		if o == nil {
			return false
		}
		writeSendOutputXML(b, o)
	case *sendBatchOutput:
		if o == nil {
			return false
		}
		for _, e := range o.Successful {
			if e != nil {
				b.WriteString("<SendMessageBatchResultEntry>")
				writeSendOutputXML(b, e)
				b.WriteString("</SendMessageBatchResultEntry>")
			}
		}
		writeBatchErrorsXML(b, o.Failed)
	case *deleteBatchOutput:
		if o == nil {
			return false
		}
		for _, e := range o.Successful {
			b.WriteString("<DeleteMessageBatchResultEntry>")
			writeXMLText(b, "Id", e.Id)
			b.WriteString("</DeleteMessageBatchResultEntry>")
		}
		writeBatchErrorsXML(b, o.Failed)
	case *receiveOutput:
		if o == nil {
			return false
		}
		for i := range o.Messages {
			if len(o.Messages[i].MessageAttributes) > 0 {
				return false
			}
		}
		for i := range o.Messages {
			writeMessageXML(b, &o.Messages[i])
		}
	default:
		return false
	}
	return true
}

func writeSendOutputXML(b *bytes.Buffer, o *sendOutput) {
	if o.Id != "" {
		writeXMLText(b, "Id", o.Id)
	}
	writeXMLText(b, "MD5OfMessageBody", o.MD5OfMessageBody)
	if o.MD5OfMessageAttributes != "" {
		writeXMLText(b, "MD5OfMessageAttributes", o.MD5OfMessageAttributes)
	}
	if o.MD5OfMessageSystemAttributes != "" {
		writeXMLText(b, "MD5OfMessageSystemAttributes", o.MD5OfMessageSystemAttributes)
	}
	writeXMLText(b, "MessageId", o.MessageId)
	if o.SequenceNumber != "" {
		writeXMLText(b, "SequenceNumber", o.SequenceNumber)
	}
}

func writeBatchErrorsXML(b *bytes.Buffer, errs []batchError) {
	for i := range errs {
		e := &errs[i]
		b.WriteString("<BatchResultErrorEntry>")
		writeXMLText(b, "Id", e.Id)
		writeXMLText(b, "SenderFault", strconv.FormatBool(e.SenderFault))
		writeXMLText(b, "Code", e.Code)
		if e.Message != "" {
			writeXMLText(b, "Message", e.Message)
		}
		b.WriteString("</BatchResultErrorEntry>")
	}
}

// writeMessageXML writes a received message without message attributes.
func writeMessageXML(b *bytes.Buffer, m *sqsMessage) {
	b.WriteString("<Message>")
	writeXMLText(b, "MessageId", m.MessageId)
	writeXMLText(b, "ReceiptHandle", m.ReceiptHandle)
	writeXMLText(b, "MD5OfBody", m.MD5OfBody)
	writeXMLText(b, "Body", m.Body)
	if len(m.Attributes) > 0 {
		var small [8]string
		keys := small[:0]
		for k := range m.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString("<Attribute>")
			writeXMLText(b, "Name", k)
			writeXMLText(b, "Value", m.Attributes[k])
			b.WriteString("</Attribute>")
		}
	}
	if m.MD5OfMessageAttributes != "" {
		writeXMLText(b, "MD5OfMessageAttributes", m.MD5OfMessageAttributes)
	}
	b.WriteString("</Message>")
}
