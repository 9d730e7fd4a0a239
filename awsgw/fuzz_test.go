package awsgw

import (
	"net/url"
	"testing"
)

// FuzzParseAuthorization checks the Authorization header parser never
// panics and accepts only complete headers.
func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e")
	f.Add("AWS4-HMAC-SHA256 ,,,")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err == nil && (a.cred.key == "" || a.signature == "" || len(a.signedHeaders) == 0) {
			t.Fatalf("accepted incomplete header %q", h)
		}
	})
}

// FuzzFormTree checks the Query form decoder on arbitrary forms.
func FuzzFormTree(f *testing.F) {
	f.Add("Action=SendMessageBatch&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=x&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=y")
	f.Add("Attribute.1.Name=DelaySeconds&Attribute.1.Value=5&Tag.1.Key=k&Tag.1.Value=v")
	f.Add("AttributeName.1=All&AttributeName.x=y&.=.&Attribute..=")
	f.Fuzz(func(t *testing.T, q string) {
		form, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		req := &request{proto: protoQuery, form: form}
		var in sendBatchInput
		_ = decodeInput(req, &in)
		var cq createQueueInput
		_ = decodeInput(req, &cq)
	})
}

// FuzzJSONInput checks the AWS JSON decoder (including optInt) on
// arbitrary bodies.
func FuzzJSONInput(f *testing.F) {
	f.Add(`{"QueueUrl":"http://h/000000000000/q","MaxNumberOfMessages":10,"WaitTimeSeconds":"5"}`)
	f.Add(`{"Entries":[{"Id":"a","MessageBody":"x","DelaySeconds":null}]}`)
	f.Add(`{"MessageAttributes":{"a":{"DataType":"Binary","BinaryValue":"AAEC"}}}`)
	f.Fuzz(func(t *testing.T, body string) {
		req := &request{proto: protoJSON, body: []byte(body)}
		var rin receiveInput
		if decodeInput(req, &rin) == nil {
			_, _, _, _ = receiveLimits(&rin, &queueMeta{Attrs: standardDefaults})
		}
		var sin sendBatchInput
		if decodeInput(req, &sin) == nil {
			for _, e := range sin.Entries {
				_, _ = checkMsgAttrs(e.MessageAttributes)
				_ = md5OfAttributes(e.MessageAttributes)
			}
		}
	})
}

// FuzzReceipt checks that decoding arbitrary handles never panics and that
// only handles made with the key decode.
func FuzzReceipt(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	f.Add(encodeReceipt(key, receipt{vhost: "/", queue: "q", seq: 1, msgID: 2, count: 3}))
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, h string) {
		r, err := decodeReceipt(key, h)
		if err == nil && encodeReceipt(key, r) == "" {
			t.Fatal("unreachable")
		}
	})
}
