package awsgw

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/tally"
)

// TestSNSPushTally: notifications pushed to an http endpoint count as
// delivered by the SNS face; a push given up after its retries, with no
// RedrivePolicy, counts as dropped (push_failed). /metrics reads these
// counters (metrics.TestFaceDelivered covers the scrape).
func TestSNSPushTally(t *testing.T) {
	e, c, _ := snsEnv(t)
	e.srv.sns.push.backoff = func(int) time.Duration { return time.Millisecond }
	var failing atomic.Bool
	var notified atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		if m["Type"] == "SubscriptionConfirmation" {
			resp, err := http.Get(m["SubscribeURL"].(string))
			if err == nil {
				_ = resp.Body.Close()
			}
			return
		}
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		notified.Add(1)
	}))
	t.Cleanup(hs.Close)
	topic := mkTopic(t, c, "tally", nil)
	_, err := c.Subscribe(ctx(), &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("http"),
		Endpoint: aws.String(hs.URL)})
	require.NoError(t, err)
	eventually(t, func() bool {
		l, err := c.ListSubscriptionsByTopic(ctx(), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
		return err == nil && len(l.Subscriptions) == 1 && *l.Subscriptions[0].SubscriptionArn != "PendingConfirmation"
	})
	face := e.b.Tally().Face(message.FaceSNS)

	for range 3 {
		_, err := c.Publish(ctx(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("x")})
		require.NoError(t, err)
	}
	eventually(t, func() bool { return face.Counts().Delivered == 3 })
	require.EqualValues(t, 3, notified.Load())

	failing.Store(true)
	for range 2 {
		_, err := c.Publish(ctx(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("x")})
		require.NoError(t, err)
	}
	eventually(t, func() bool { return face.Counts().Dropped[tally.PushFailed] == 2 })
	n := face.Counts()
	require.EqualValues(t, 3, n.Delivered)
	require.Zero(t, n.Dropped[tally.Unroutable])
}
