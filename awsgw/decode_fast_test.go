package awsgw

import (
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// genericDecode is decodeInput's generic Query path.
func genericDecode(t *testing.T, form url.Values, in any) {
	t.Helper()
	data, err := json.Marshal(formTree(form))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, in))
}

// TestDecodeQueryFast checks that the fast Query decoder fills the hot
// inputs exactly as the generic path does, and leaves unusual forms to
// it.
func TestDecodeQueryFast(t *testing.T) {
	fresh := map[string]func() any{
		"delete":  func() any { return &deleteInput{} },
		"send":    func() any { return &sendInput{} },
		"receive": func() any { return &receiveInput{} },
		"entries": func() any { return &entriesInput{} },
		"batch":   func() any { return &sendBatchInput{} },
	}
	cases := []struct {
		typ, query string
		fast       bool
	}{
		{"delete", "Action=DeleteMessage&QueueUrl=http%3A%2F%2Fh%2F1%2Fq&ReceiptHandle=abc&Version=2012-11-05&X-Amz-Date=x", true},
		{"delete", "QueueUrl=u&VisibilityTimeout=+7&Id=i", true},
		{"delete", "QueueUrl=u&VisibilityTimeout=x7", true},
		{"delete", "QueueUrl=u&VisibilityTimeout=", true},
		{"delete", "queueurl=u", false},
		{"send", "QueueUrl=u&MessageBody=h%C3%A9llo+%3C%26%3E&DelaySeconds=3&MessageGroupId=g&MessageDeduplicationId=d", true},
		{"send", "QueueUrl=u&MessageBody=", true},
		{"send", "QueueUrl=u&MessageBody=%ff", false},
		{"send", "QueueUrl=u&MessageBody=b&MessageAttribute.1.Name=a&MessageAttribute.1.Value.StringValue=v&MessageAttribute.1.Value.DataType=String", false},
		{"receive", "QueueUrl=u&MaxNumberOfMessages=10&WaitTimeSeconds=0&AttributeName.2=b&AttributeName.1=All&MessageAttributeName.1=x&MessageSystemAttributeName.1=y", true},
		{"receive", "QueueUrl=u&AttributeName.01=a", false},
		{"receive", "QueueUrl=u&AttributeNames=a", false},
		{"entries", "QueueUrl=u&DeleteMessageBatchRequestEntry.1.Id=a&DeleteMessageBatchRequestEntry.1.ReceiptHandle=r1&DeleteMessageBatchRequestEntry.10.Id=b&DeleteMessageBatchRequestEntry.10.ReceiptHandle=r2&DeleteMessageBatchRequestEntry.2.Id=c", true},
		{"entries", "QueueUrl=u&ChangeMessageVisibilityBatchRequestEntry.1.Id=a&ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout=5&ChangeMessageVisibilityBatchRequestEntry.1.Other=z", true},
		{"entries", "QueueUrl=u&DeleteMessageBatchRequestEntry.1=a", false},
		{"entries", "QueueUrl=u&DeleteMessageBatchRequestEntry.1.Id=a&ChangeMessageVisibilityBatchRequestEntry.1.Id=b", false},
		{"entries", "QueueUrl=u&DeleteMessageBatchRequestEntry.1.id=a", false},
		{"batch", "QueueUrl=u&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=y&SendMessageBatchRequestEntry.2.DelaySeconds=2", true},
		{"batch", "QueueUrl=u&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=n", false},
		{"batch", "QueueUrl=u&SendMessageBatchRequestEntry.x.Id=a", false},
		{"delete", "QueueUrl=u&QueueUrl=v&ReceiptHandle=r", true}, // the map's first value; the pairs decline
		{"entries", "QueueUrl=u&DeleteMessageBatchRequestEntry.1.Id=a&DeleteMessageBatchRequestEntry.1.Id=b&DeleteMessageBatchRequestEntry.1.ReceiptHandle=r", true},
	}
	all := []func() any{fresh["delete"], fresh["send"], fresh["receive"], fresh["entries"], fresh["batch"]}
	for _, c := range cases {
		form, err := url.ParseQuery(c.query)
		require.NoError(t, err)
		requireOrderedSame(t, c.query, all)
		// The same parameters in reverse order: sorted the other way round.
		ps := strings.Split(c.query, "&")
		slices.Reverse(ps)
		requireOrderedSame(t, strings.Join(ps, "&"), all)
		got, want := fresh[c.typ](), fresh[c.typ]()
		ok := decodeQueryFast(form, got)
		require.Equal(t, c.fast, ok, c.query)
		if !ok {
			require.True(t, reflect.ValueOf(got).Elem().IsZero(), "untouched on fallback: %s", c.query)
			continue
		}
		genericDecode(t, form, want)
		require.Equal(t, want, got, c.query)
	}
}

// TestHotActionRepeatedKeys: a hot SQS action whose form repeats a key
// (kept as pairs, no map, by classify) is declined by the pairs decoder
// and decoded from the map as before: the first value counts.
func TestHotActionRepeatedKeys(t *testing.T) {
	e := newEnv(t, Config{AcceptAnyKey: true})
	w := sqsHandlerCall(t, e.srv, "Action=CreateQueue&Version=2012-11-05&QueueName=rep")
	qurl := url.QueryEscape(between(w.Body.String(), "<QueueUrl>", "</QueueUrl>"))
	sqsHandlerCall(t, e.srv, "Action=SendMessage&Version=2012-11-05&QueueUrl="+qurl+"&MessageBody=first&MessageBody=second")
	sqsHandlerCall(t, e.srv, "Action=SendMessageBatch&Version=2012-11-05&QueueUrl="+qurl+
		"&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=one"+
		"&SendMessageBatchRequestEntry.1.MessageBody=two")
	body := sqsHandlerCall(t, e.srv, "Action=ReceiveMessage&Version=2012-11-05&QueueUrl="+qurl+
		"&MaxNumberOfMessages=10&MaxNumberOfMessages=1").Body.String()
	require.Equal(t, 2, strings.Count(body, "<Message>"), body) // the first MaxNumberOfMessages
	require.Contains(t, body, "<Body>first</Body>")
	require.Contains(t, body, "<Body>one</Body>")
	require.NotContains(t, body, "second")
	require.NotContains(t, body, "two")
}
