package awsgw

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
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
		"QueueUrl=u&DeleteMessageBatchRequestEntry.1.Id=a&DeleteMessageBatchRequestEntry.1.Id=b&DeleteMessageBatchRequestEntry.1.ReceiptHandle=r",
		"QueueUrl=u&QueueUrl=v&ReceiptHandle=r&Id=i",
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

// requireOrderedSame checks that decoding form s from its pairs in the
// order sent (parseFormPairs, as classify keeps them for the hot SQS
// actions, without a map) fills the hot inputs exactly as decoding its
// map does, declines the same forms when no key repeats, and declines
// (untouched) a form whose keys repeat, which then goes to the generic
// path through its map.
func requireOrderedSame(t *testing.T, s string, fresh []func() any) {
	t.Helper()
	keys, vals, ok := parseFormPairs(s)
	if !ok {
		return
	}
	m, err := url.ParseQuery(s)
	require.NoError(t, err, s)
	require.Equal(t, m, pairsForm(keys, vals), s)
	require.Equal(t, m.Get("Action"), formFirst(keys, vals, "Action"), s)
	repeats := len(m) != len(keys)
	flat := 0
	for _, k := range keys {
		if !strings.Contains(k, ".") {
			flat++
		}
	}
	for _, mk := range fresh {
		byMap, byPairs := mk(), mk()
		okMap := decodeQueryFast(m, byMap)
		okPairs := decodeQueryView(formView{keys: keys, vals: vals}, byPairs)
		if !okPairs {
			require.True(t, reflect.ValueOf(byPairs).Elem().IsZero(), "touched on fallback: %q", s)
		}
		if repeats {
			require.False(t, okPairs, "%q (%T): repeated keys taken from pairs", s, byMap)
			continue
		}
		if !okPairs && flat > 16 {
			continue // more flat keys than fillFlat tracks for repeats: left to the map
		}
		require.Equal(t, okMap, okPairs, "%q (%T)", s, byMap)
		require.Equal(t, byMap, byPairs, "%q (%T)", s, byMap)
	}
}
