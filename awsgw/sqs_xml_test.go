package awsgw

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

// reflectXML is what writeXMLFields writes for out.
func reflectXML(out any) string {
	var b bytes.Buffer
	writeXMLFields(&b, reflect.ValueOf(out).Elem())
	return b.String()
}

// handXML is what writeSQSResultXML writes for out, and whether it did.
func handXML(out any) (string, bool) {
	var b bytes.Buffer
	ok := writeSQSResultXML(&b, out)
	return b.String(), ok
}

// xmlSamples are strings with and without characters to escape.
var xmlSamples = []string{"", "plain", "0123456789abcdef", `a&b<c>"d"'e'`, "tab\there\nnl\rcr",
	"é ü 漢字 🙂", "\x7f", "]]>", "&amp;"}

func randString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return xmlSamples[r.IntN(len(xmlSamples))]
	}
	n := r.IntN(40)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(0x20 + r.IntN(0x60))
	}
	return string(b)
}

func randSendOutput(r *rand.Rand) *sendOutput {
	pick := func() string {
		if r.IntN(2) == 0 {
			return ""
		}
		return randString(r)
	}
	return &sendOutput{Id: pick(), MD5OfMessageBody: pick(), MD5OfMessageAttributes: pick(),
		MD5OfMessageSystemAttributes: pick(), MessageId: pick(), SequenceNumber: pick()}
}

func randBatchErrors(r *rand.Rand) []batchError {
	var out []batchError
	for range r.IntN(3) {
		msg := ""
		if r.IntN(2) == 0 {
			msg = randString(r)
		}
		out = append(out, batchError{Id: randString(r), SenderFault: r.IntN(2) == 0, Code: randString(r), Message: msg})
	}
	return out
}

// TestSQSResultXMLMatchesReflection: the hand-written answers of the hot
// SQS actions are byte for byte what the reflective writer makes of the
// same values, over random values with characters to escape, nil and
// empty members and system attributes.
func TestSQSResultXMLMatchesReflection(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		var out any
		switch i % 4 {
		case 0:
			out = randSendOutput(r)
		case 1:
			o := &sendBatchOutput{Successful: []*sendOutput{}, Failed: randBatchErrors(r)}
			for range r.IntN(11) {
				e := randSendOutput(r)
				if r.IntN(8) == 0 {
					e = nil
				}
				o.Successful = append(o.Successful, e)
			}
			out = o
		case 2:
			o := &deleteBatchOutput{Successful: []batchID{}, Failed: randBatchErrors(r)}
			for range r.IntN(11) {
				o.Successful = append(o.Successful, batchID{Id: randString(r)})
			}
			out = o
		case 3:
			o := &receiveOutput{}
			for range r.IntN(11) {
				m := sqsMessage{MessageId: randString(r), ReceiptHandle: randString(r), MD5OfBody: randString(r),
					Body: randString(r)}
				if r.IntN(2) == 0 {
					m.MD5OfMessageAttributes = randString(r)
				}
				if r.IntN(2) == 0 {
					m.Attributes = map[string]string{}
					for range r.IntN(10) {
						m.Attributes[randString(r)] = randString(r)
					}
				}
				o.Messages = append(o.Messages, m)
			}
			out = o
		}
		got, ok := handXML(out)
		require.True(t, ok, "%T not written by hand", out)
		require.Equal(t, reflectXML(out), got, "value %d (%T)", i, out)
	}
}

// TestSQSResultXMLFallsBack: values the hand-written form does not cover
// are left to the reflective writer.
func TestSQSResultXMLFallsBack(t *testing.T) {
	v := "x"
	withAttrs := &receiveOutput{Messages: []sqsMessage{{MessageId: "a"},
		{MessageId: "b", MessageAttributes: map[string]msgAttr{"k": {DataType: "String", StringValue: &v}}}}}
	for _, out := range []any{withAttrs, (*sendOutput)(nil), &createQueueOutputForTest{}} {
		got, ok := handXML(out)
		require.False(t, ok, "%T", out)
		require.Empty(t, got)
	}
}

type createQueueOutputForTest struct{ QueueUrl string }

// FuzzSQSResultXML holds the hand-written SendMessage and DeleteMessageBatch
// answers to the reflective writer over arbitrary strings.
func FuzzSQSResultXML(f *testing.F) {
	for _, s := range xmlSamples {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, out := range []any{
			&sendOutput{Id: a, MD5OfMessageBody: b, MessageId: a + b, SequenceNumber: b},
			&deleteBatchOutput{Successful: []batchID{{Id: a}}, Failed: []batchError{{Id: b, Code: a, Message: b}}},
			&receiveOutput{Messages: []sqsMessage{{MessageId: a, Body: b, Attributes: map[string]string{a: b, b: a}}}},
		} {
			got, ok := handXML(out)
			require.True(t, ok)
			require.Equal(t, reflectXML(out), got)
		}
	})
}
