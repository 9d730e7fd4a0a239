package awsgw

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDecodeQueryFast: whatever form the fast Query decoder takes, it
// fills the hot inputs exactly as the generic path does, and it leaves
// the input untouched when it declines.
func FuzzDecodeQueryFast(f *testing.F) {
	for _, s := range []string{
		"QueueUrl=u&ReceiptHandle=abc&VisibilityTimeout=+7&Id=i",
		"QueueUrl=u&MessageBody=h%C3%A9llo&DelaySeconds=3&MessageGroupId=g&MessageDeduplicationId=d",
		"QueueUrl=u&MaxNumberOfMessages=10&AttributeName.2=b&AttributeName.1=All&MessageAttributeName.1=x",
		"QueueUrl=u&DeleteMessageBatchRequestEntry.1.Id=a&DeleteMessageBatchRequestEntry.1.ReceiptHandle=r1&DeleteMessageBatchRequestEntry.10.Id=b",
		"QueueUrl=u&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.DelaySeconds=2",
		"QueueUrl=u&ChangeMessageVisibilityBatchRequestEntry.1.Id=a&ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout=5",
		"QueueUrl=u&DeleteMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.Id=b&AttributeName.1=x",
	} {
		f.Add(s)
	}
	fresh := []func() any{
		func() any { return &deleteInput{} }, func() any { return &sendInput{} },
		func() any { return &receiveInput{} }, func() any { return &entriesInput{} },
		func() any { return &sendBatchInput{} },
	}
	f.Fuzz(func(t *testing.T, s string) {
		form, err := url.ParseQuery(s)
		if err != nil || tooDeep(form) {
			return
		}
		requireOrderedSame(t, s, fresh)
		for _, mk := range fresh {
			got := mk()
			if !decodeQueryFast(form, got) {
				require.True(t, reflect.ValueOf(got).Elem().IsZero(), "touched on fallback: %q", s)
				continue
			}
			data, err := json.Marshal(formTree(form))
			require.NoError(t, err)
			want := mk()
			if json.Unmarshal(data, want) != nil {
				t.Fatalf("fast path took %q (%T), which the generic path refuses", s, got)
			}
			require.Equal(t, want, got, "%q (%T)", s, got)
		}
	})
}

// requireOrderedSame checks that decoding form s through the order sent
// (parseFormOrdered, as classify keeps it) fills the hot inputs exactly
// as decoding its map does, and declines the same forms.
func requireOrderedSame(t *testing.T, s string, fresh []func() any) {
	t.Helper()
	m, keys, vals, ok := parseFormOrdered(s)
	if !ok {
		return
	}
	for _, mk := range fresh {
		byMap, byOrder := mk(), mk()
		okMap := decodeQueryFast(m, byMap)
		okOrder := decodeQueryView(formView{m: m, keys: keys, vals: vals}, byOrder)
		require.Equal(t, okMap, okOrder, "%q (%T)", s, byMap)
		require.Equal(t, byMap, byOrder, "%q (%T)", s, byMap)
	}
}
