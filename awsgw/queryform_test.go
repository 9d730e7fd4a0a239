package awsgw

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkParseForm holds parseForm to url.ParseQuery: the same values, and
// an error exactly when it gives one.
func checkParseForm(t *testing.T, s string) {
	t.Helper()
	want, werr := url.ParseQuery(s)
	got, gerr := parseForm(s)
	if werr != nil {
		require.Error(t, gerr, "%q", s)
		return
	}
	require.NoError(t, gerr, "%q", s)
	require.Equal(t, want, got, "%q", s)
	// A repeated key's values are its own: appending to one leaves the
	// others alone.
	for k := range got {
		got[k] = append(got[k], "extra")
	}
	for k, vs := range want {
		require.Equal(t, vs, got[k][:len(vs)], "%q", s)
	}
}

var formSamples = []string{"", "&", "&&a=1&&", "a", "a=", "=b", "a=1&a=2&b=3&a=4",
	"Action=SendMessage&QueueUrl=http%3A%2F%2Fh%3A4566%2F000000000000%2Fq&MessageBody=h%C3%A9llo+w%2Borld",
	"a=%", "a=%4", "a=%zz", "%41=%42", "a;b=1", "a=1;b=2", "a=%2", "+=+", "a=%00%ff",
	"SendMessageBatchRequestEntry.1.Id=0&SendMessageBatchRequestEntry.1.MessageBody=x&SendMessageBatchRequestEntry.2.Id=1",
	strings.Repeat("a=1&", 1200), strings.Repeat("k=v&", 999) + "k=w"}

func TestParseFormMatchesParseQuery(t *testing.T) {
	for _, s := range formSamples {
		checkParseForm(t, s)
	}
}

func FuzzParseForm(f *testing.F) {
	for _, s := range formSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParseForm(t, s) })
}
