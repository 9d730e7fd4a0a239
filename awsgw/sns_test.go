package awsgw

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SignatureVersion 1
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/route"
)

// snsClient returns an SNS SDK client with test/test credentials.
func (e *testEnv) snsClient(t *testing.T) *sns.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(ctx(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithRetryMaxAttempts(1))
	require.NoError(t, err)
	return sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(e.url) })
}

// snsEnv is a gateway with SNS and SQS clients.
func snsEnv(t *testing.T) (*testEnv, *sns.Client, *sqs.Client) {
	e := newEnv(t, Config{})
	return e, e.snsClient(t), e.client(t, "test", "test")
}

func mkTopic(t *testing.T, c *sns.Client, name string, attrs map[string]string) string {
	t.Helper()
	out, err := c.CreateTopic(ctx(), &sns.CreateTopicInput{Name: aws.String(name), Attributes: attrs})
	require.NoError(t, err)
	return *out.TopicArn
}

// mkQueue creates an SQS queue and returns its URL and ARN.
func mkQueue(t *testing.T, q *sqs.Client, name string) (string, string) {
	t.Helper()
	out, err := q.CreateQueue(ctx(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	require.NoError(t, err)
	return *out.QueueUrl, "arn:aws:sqs:us-east-1:000000000000:" + name
}

func subscribeQueue(t *testing.T, c *sns.Client, topic, queueArn string, attrs map[string]string) string {
	t.Helper()
	out, err := c.Subscribe(ctx(), &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sqs"),
		Endpoint: aws.String(queueArn), Attributes: attrs, ReturnSubscriptionArn: true})
	require.NoError(t, err)
	return *out.SubscriptionArn
}

// receiveAll drains a queue for a short while.
func receiveAll(t *testing.T, q *sqs.Client, url string, wait int32) []sqstypes.Message {
	t.Helper()
	out, err := q.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url),
		MaxNumberOfMessages: 10, WaitTimeSeconds: wait, MessageAttributeNames: []string{"All"}})
	require.NoError(t, err)
	return out.Messages
}

func TestSNSTopics(t *testing.T) {
	_, c, _ := snsEnv(t)
	arn := mkTopic(t, c, "orders", map[string]string{"DisplayName": "Orders"})
	require.Equal(t, "arn:aws:sns:us-east-1:000000000000:orders", arn)
	require.Equal(t, arn, mkTopic(t, c, "orders", nil), "idempotent")
	_, err := c.CreateTopic(ctx(), &sns.CreateTopicInput{Name: aws.String("orders"),
		Attributes: map[string]string{"DisplayName": "Other"}})
	apiErr(t, err, "InvalidParameter", "Invalid parameter: Attributes Reason: Topic already exists with different attributes", 400)
	_, err = c.CreateTopic(ctx(), &sns.CreateTopicInput{Name: aws.String("bad name")})
	apiErr(t, err, "InvalidParameter", "Invalid parameter: Topic Name", 400)
	fifo := mkTopic(t, c, "f.fifo", map[string]string{"FifoTopic": "true"})

	attrs, err := c.GetTopicAttributes(ctx(), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	require.NoError(t, err)
	require.Equal(t, "Orders", attrs.Attributes["DisplayName"])
	require.Equal(t, arn, attrs.Attributes["TopicArn"])
	require.Equal(t, "0", attrs.Attributes["SubscriptionsConfirmed"])
	_, err = c.SetTopicAttributes(ctx(), &sns.SetTopicAttributesInput{TopicArn: aws.String(arn),
		AttributeName: aws.String("DisplayName"), AttributeValue: aws.String("New")})
	require.NoError(t, err)
	attrs, err = c.GetTopicAttributes(ctx(), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	require.NoError(t, err)
	require.Equal(t, "New", attrs.Attributes["DisplayName"])
	_, err = c.GetTopicAttributes(ctx(), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn + "x")})
	apiErr(t, err, "NotFound", "Topic does not exist", 404)
	_, err = c.GetTopicAttributes(ctx(), &sns.GetTopicAttributesInput{TopicArn: aws.String("nope")})
	apiErr(t, err, "InvalidParameter", "Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 1", 400)

	list, err := c.ListTopics(ctx(), &sns.ListTopicsInput{})
	require.NoError(t, err)
	require.Len(t, list.Topics, 2)
	require.Equal(t, fifo, *list.Topics[0].TopicArn)

	_, err = c.DeleteTopic(ctx(), &sns.DeleteTopicInput{TopicArn: aws.String(fifo)})
	require.NoError(t, err)
	_, err = c.DeleteTopic(ctx(), &sns.DeleteTopicInput{TopicArn: aws.String(fifo)})
	require.NoError(t, err, "deleting a missing topic succeeds")
	list, err = c.ListTopics(ctx(), &sns.ListTopicsInput{})
	require.NoError(t, err)
	require.Len(t, list.Topics, 1)
}

func TestSNSListTopicsPagination(t *testing.T) {
	_, c, _ := snsEnv(t)
	for i := range 105 {
		mkTopic(t, c, fmt.Sprintf("t%03d", i), nil)
	}
	p1, err := c.ListTopics(ctx(), &sns.ListTopicsInput{})
	require.NoError(t, err)
	require.Len(t, p1.Topics, 100)
	require.NotNil(t, p1.NextToken)
	p2, err := c.ListTopics(ctx(), &sns.ListTopicsInput{NextToken: p1.NextToken})
	require.NoError(t, err)
	require.Len(t, p2.Topics, 5)
	require.Nil(t, p2.NextToken)
	require.True(t, strings.HasSuffix(*p2.Topics[4].TopicArn, ":t104"))
}

func TestSNSTagsAndPermissions(t *testing.T) {
	_, c, _ := snsEnv(t)
	arn := mkTopic(t, c, "tagged", nil)
	_, err := c.TagResource(ctx(), &sns.TagResourceInput{ResourceArn: aws.String(arn),
		Tags: []snstypes.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}}})
	require.NoError(t, err)
	_, err = c.UntagResource(ctx(), &sns.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"a"}})
	require.NoError(t, err)
	tags, err := c.ListTagsForResource(ctx(), &sns.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	require.NoError(t, err)
	require.Len(t, tags.Tags, 1)
	require.Equal(t, "b", *tags.Tags[0].Key)
	_, err = c.CreateTopic(ctx(), &sns.CreateTopicInput{Name: aws.String("tagged"),
		Tags: []snstypes.Tag{{Key: aws.String("x"), Value: aws.String("y")}}})
	apiErr(t, err, "InvalidParameter", "Invalid parameter: Tags Reason: Topic already exists with different tags", 400)
	_, err = c.CreateTopic(ctx(), &sns.CreateTopicInput{Name: aws.String("dup"),
		Tags: []snstypes.Tag{{Key: aws.String("x"), Value: aws.String("y")}, {Key: aws.String("x"), Value: aws.String("z")}}})
	apiErr(t, err, "InvalidParameter", "Invalid parameter: Duplicated keys are not allowed.", 400)

	_, err = c.AddPermission(ctx(), &sns.AddPermissionInput{TopicArn: aws.String(arn), Label: aws.String("l1"),
		AWSAccountId: []string{"111111111111"}, ActionName: []string{"Publish"}})
	require.NoError(t, err)
	_, err = c.AddPermission(ctx(), &sns.AddPermissionInput{TopicArn: aws.String(arn), Label: aws.String("l1"),
		AWSAccountId: []string{"111111111111"}, ActionName: []string{"Publish"}})
	apiErr(t, err, "InvalidParameter", "Invalid parameter: Statement already exists", 400)
	_, err = c.AddPermission(ctx(), &sns.AddPermissionInput{TopicArn: aws.String(arn), Label: aws.String("l2"),
		AWSAccountId: []string{"111111111111"}, ActionName: []string{"SendMessage"}})
	apiErr(t, err, "InvalidParameter", "Invalid parameter: Policy statement action out of service scope!", 400)
	attrs, err := c.GetTopicAttributes(ctx(), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	require.NoError(t, err)
	require.Contains(t, attrs.Attributes["Policy"], `"Sid":"l1"`)
	_, err = c.RemovePermission(ctx(), &sns.RemovePermissionInput{TopicArn: aws.String(arn), Label: aws.String("l1")})
	require.NoError(t, err)
}

// TestSNSToSQS covers Subscribe, the envelope, its signature, raw
// delivery, message attributes and the subscription actions.
func TestSNSToSQS(t *testing.T) {
	e, c, q := snsEnv(t)
	topic := mkTopic(t, c, "news", nil)
	envURL, envArn := mkQueue(t, q, "env")
	rawURL, rawArn := mkQueue(t, q, "raw")
	subEnv := subscribeQueue(t, c, topic, envArn, nil)
	subRaw := subscribeQueue(t, c, topic, rawArn, map[string]string{"RawMessageDelivery": "true"})
	require.Equal(t, subEnv, subscribeQueue(t, c, topic, envArn, nil), "idempotent")

	pub, err := c.Publish(ctx(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("hello <&>"),
		Subject: aws.String("greeting"), MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"color": {DataType: aws.String("String"), StringValue: aws.String("blue")}}})
	require.NoError(t, err)

	msgs := receiveAll(t, q, envURL, 1)
	require.Len(t, msgs, 1)
	var env map[string]any
	require.NoError(t, json.Unmarshal([]byte(*msgs[0].Body), &env))
	require.Equal(t, "Notification", env["Type"])
	require.Equal(t, *pub.MessageId, env["MessageId"])
	require.Equal(t, "hello <&>", env["Message"])
	require.Equal(t, "greeting", env["Subject"])
	require.Equal(t, topic, env["TopicArn"])
	require.Contains(t, *msgs[0].Body, `"hello <&>"`, "no HTML escaping")
	require.Equal(t, map[string]any{"Type": "String", "Value": "blue"}, env["MessageAttributes"].(map[string]any)["color"])
	require.Contains(t, env["UnsubscribeURL"], "SubscriptionArn=")
	verifySignature(t, e, env)

	raw := receiveAll(t, q, rawURL, 1)
	require.Len(t, raw, 1)
	require.Equal(t, "hello <&>", *raw[0].Body)
	require.Equal(t, "blue", *raw[0].MessageAttributes["color"].StringValue)

	subs, err := c.ListSubscriptionsByTopic(ctx(), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
	require.NoError(t, err)
	require.Len(t, subs.Subscriptions, 2)
	all, err := c.ListSubscriptions(ctx(), &sns.ListSubscriptionsInput{})
	require.NoError(t, err)
	require.Len(t, all.Subscriptions, 2)

	sa, err := c.GetSubscriptionAttributes(ctx(), &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(subRaw)})
	require.NoError(t, err)
	require.Equal(t, "true", sa.Attributes["RawMessageDelivery"])
	require.Equal(t, rawArn, sa.Attributes["Endpoint"])
	require.Equal(t, "false", sa.Attributes["PendingConfirmation"])
	_, err = c.SetSubscriptionAttributes(ctx(), &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(subRaw),
		AttributeName: aws.String("RawMessageDelivery"), AttributeValue: aws.String("test-ValUe")})
	apiErr(t, err, "InvalidParameter", "Invalid parameter: RawMessageDelivery: Invalid value [test-ValUe]. Must be true or false.", 400)
	_, err = c.SetSubscriptionAttributes(ctx(), &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(subRaw),
		AttributeName: aws.String("RawMessageDelivery"), AttributeValue: aws.String("false")})
	require.NoError(t, err)
	_, err = c.Publish(ctx(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("two")})
	require.NoError(t, err)
	raw = receiveAll(t, q, rawURL, 1)
	require.Len(t, raw, 1)
	require.Contains(t, *raw[0].Body, `"Type":"Notification"`, "envelope after RawMessageDelivery=false")

	_, err = c.Unsubscribe(ctx(), &sns.UnsubscribeInput{SubscriptionArn: aws.String(subRaw)})
	require.NoError(t, err)
	_, err = c.GetSubscriptionAttributes(ctx(), &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(subRaw)})
	apiErr(t, err, "NotFound", "Subscription does not exist", 404)
	receiveAll(t, q, envURL, 1)
	_, err = c.Publish(ctx(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("three")})
	require.NoError(t, err)
	require.Empty(t, receiveAll(t, q, rawURL, 0), "unsubscribed")
}

// verifySignature checks an envelope against the certificate the gateway
// serves, as a subscriber would.
func verifySignature(t *testing.T, e *testEnv, env map[string]any) {
	t.Helper()
	certURL := env["SigningCertURL"].(string)
	require.True(t, strings.HasPrefix(certURL, e.url+SNSSigningCertPath), certURL)
	resp, err := http.Get(certURL)
	require.NoError(t, err)
	data, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	block, _ := pem.Decode(data)
	require.NotNil(t, block)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	var b strings.Builder
	keys := []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"}
	if env["Type"] != "Notification" {
		keys = []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"}
	}
	for _, k := range keys {
		if v, ok := env[k].(string); ok {
			b.WriteString(k + "\n" + v + "\n")
		}
	}
	sig, err := base64.StdEncoding.DecodeString(env["Signature"].(string))
	require.NoError(t, err)
	pub := cert.PublicKey.(*rsa.PublicKey)
	if env["SignatureVersion"] == "2" {
		sum := sha256.Sum256([]byte(b.String()))
		require.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig))
		return
	}
	require.Equal(t, "1", env["SignatureVersion"])
	sum := sha1.Sum([]byte(b.String())) //nolint:gosec // SignatureVersion 1
	require.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA1, sum[:], sig))
}

func TestSNSSignatureVersion2(t *testing.T) {
	e, c, q := snsEnv(t)
	topic := mkTopic(t, c, "v2", map[string]string{"SignatureVersion": "2"})
	url, arn := mkQueue(t, q, "v2q")
	subscribeQueue(t, c, topic, arn, nil)
	_, err := c.Publish(ctx(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m")})
	require.NoError(t, err)
	msgs := receiveAll(t, q, url, 1)
	require.Len(t, msgs, 1)
	var env map[string]any
	require.NoError(t, json.Unmarshal([]byte(*msgs[0].Body), &env))
	require.Equal(t, "2", env["SignatureVersion"])
	verifySignature(t, e, env)
}

func TestSNSFilterPolicy(t *testing.T) {
	_, c, q := snsEnv(t)
	topic := mkTopic(t, c, "filtered", nil)
	attrURL, attrArn := mkQueue(t, q, "byattr")
	bodyURL, bodyArn := mkQueue(t, q, "bybody")
	subscribeQueue(t, c, topic, attrArn, map[string]string{"RawMessageDelivery": "true",
		"FilterPolicy": `{"price":[{"numeric":[">",0,"<=",5]}],"kind":[{"anything-but":"spam"}]}`})
	subscribeQueue(t, c, topic, bodyArn, map[string]string{"RawMessageDelivery": "true",
		"FilterPolicyScope": "MessageBody", "FilterPolicy": `{"order":{"status":[{"prefix":"ship"}]}}`})
	pub := func(body string, price, kind string) {
		attrs := map[string]snstypes.MessageAttributeValue{}
		if price != "" {
			attrs["price"] = snstypes.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(price)}
		}
		if kind != "" {
			attrs["kind"] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(kind)}
		}
		_, err := c.Publish(ctx(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(body),
			MessageAttributes: attrs})
		require.NoError(t, err)
	}
	pub(`{"order":{"status":"shipped"}}`, "3", "mail")
	pub(`{"order":{"status":"new"}}`, "7", "mail")
	pub(`not json`, "4", "spam")
	pub(`{"order":[{"status":"shipping"}]}`, "", "")
	got := func(url string) []string {
		var bodies []string
		for _, m := range receiveAll(t, q, url, 1) {
			bodies = append(bodies, *m.Body)
		}
		return bodies
	}
	require.Equal(t, []string{`{"order":{"status":"shipped"}}`}, got(attrURL))
	require.ElementsMatch(t, []string{`{"order":{"status":"shipped"}}`, `{"order":[{"status":"shipping"}]}`}, got(bodyURL))

	_, err := c.Subscribe(ctx(), &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sqs"),
		Endpoint: aws.String(attrArn + "x"), Attributes: map[string]string{"FilterPolicy": `{"key":[]}`}})
	apiErr(t, err, "InvalidParameter", "Invalid parameter: Attributes Reason: FilterPolicy: Empty arrays are not allowed\n"+
		" at [Source: (String)\"{\"key\":[]}\"; line: 1, column: 10]", 400)
	_, err = c.Subscribe(ctx(), &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sqs"),
		Endpoint: aws.String(attrArn), Attributes: map[string]string{"FilterPolicy": `{"a":{"b":["c"]}}`}})
	apiErr(t, err, "InvalidParameter", "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy", 400)
}

func TestSNSSubscribeErrors(t *testing.T) {
	_, c, _ := snsEnv(t)
	topic := mkTopic(t, c, "errs", nil)
	for _, p := range []string{"test-protocol", "sms", "email", "lambda"} {
		_, err := c.Subscribe(ctx(), &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String(p),
			Endpoint: aws.String("x")})
		apiErr(t, err, "InvalidParameter", "Invalid parameter: Amazon SNS does not support this protocol string: "+p, 400)
	}
	_, err := c.Subscribe(ctx(), &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sqs"),
		Endpoint: aws.String("not-an-arn")})
	apiErr(t, err, "InvalidParameter", "Invalid parameter: SQS endpoint ARN", 400)
	_, err = c.GetSubscriptionAttributes(ctx(), &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String("x")})
	apiErr(t, err, "InvalidParameter", "Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 1", 400)
	_, err = c.Publish(ctx(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("")})
	apiErr(t, err, "InvalidParameter", "Invalid parameter: Empty message", 400)
	_, err = c.Publish(ctx(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(`{"x":"y"}`),
		MessageStructure: aws.String("json")})
	apiErr(t, err, "InvalidParameter", "Invalid parameter: Message Structure - No default entry in JSON message body", 400)
	_, err = c.Publish(ctx(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m"),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{"attr1": {DataType: aws.String("String"),
			BinaryValue: []byte("x")}}})
	apiErr(t, err, "ParameterValueInvalid", "The message attribute 'attr1' with type 'String' must use field 'String'.", 400)
	_, err = c.Publish(ctx(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m"),
		MessageDeduplicationId: aws.String("d")})
	apiErr(t, err, "InvalidParameter", "Invalid parameter: MessageDeduplicationId Reason: The request includes "+
		"MessageDeduplicationId parameter that is not valid for this topic type", 400)
}

func TestSNSPublishBatchAndFIFO(t *testing.T) {
	_, c, q := snsEnv(t)
	topic := mkTopic(t, c, "b.fifo", map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true"})
	out, err := q.CreateQueue(ctx(), &sqs.CreateQueueInput{QueueName: aws.String("bq.fifo"),
		Attributes: map[string]string{"FifoQueue": "true"}})
	require.NoError(t, err)
	subscribeQueue(t, c, topic, "arn:aws:sqs:us-east-1:000000000000:bq.fifo", map[string]string{"RawMessageDelivery": "true"})
	var entries []snstypes.PublishBatchRequestEntry
	for i := range 3 {
		entries = append(entries, snstypes.PublishBatchRequestEntry{Id: aws.String(fmt.Sprint("e", i)),
			Message: aws.String(fmt.Sprint("m", i)), MessageGroupId: aws.String("g")})
	}
	entries = append(entries, snstypes.PublishBatchRequestEntry{Id: aws.String("dup"), Message: aws.String("m0"),
		MessageGroupId: aws.String("g")})
	res, err := c.PublishBatch(ctx(), &sns.PublishBatchInput{TopicArn: aws.String(topic), PublishBatchRequestEntries: entries})
	require.NoError(t, err)
	require.Len(t, res.Successful, 4)
	require.Len(t, *res.Successful[0].SequenceNumber, 20)
	var bodies []string
	for len(bodies) < 3 {
		msgs := receiveAll(t, q, *out.QueueUrl, 1)
		require.NotEmpty(t, msgs)
		for _, m := range msgs {
			bodies = append(bodies, *m.Body)
			_, err := q.DeleteMessage(ctx(), &sqs.DeleteMessageInput{QueueUrl: out.QueueUrl, ReceiptHandle: m.ReceiptHandle})
			require.NoError(t, err)
		}
	}
	require.Equal(t, []string{"m0", "m1", "m2"}, bodies, "group order, content deduplication")

	_, err = c.Publish(ctx(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m")})
	apiErr(t, err, "InvalidParameter", "Invalid parameter: The MessageGroupId parameter is required for FIFO topics", 400)
	many := make([]snstypes.PublishBatchRequestEntry, 11)
	for i := range many {
		many[i] = snstypes.PublishBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), Message: aws.String("x")}
	}
	_, err = c.PublishBatch(ctx(), &sns.PublishBatchInput{TopicArn: aws.String(topic), PublishBatchRequestEntries: many})
	apiErr(t, err, "TooManyEntriesInBatchRequest", "The batch request contains more entries than permissible.", 400)
	_, err = c.PublishBatch(ctx(), &sns.PublishBatchInput{TopicArn: aws.String(topic), PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{
		{Id: aws.String("a"), Message: aws.String("x")}, {Id: aws.String("a"), Message: aws.String("y")}}})
	apiErr(t, err, "BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.", 400)
}

// TestSNSHTTPSubscription runs the confirmation handshake and a
// notification against an httptest endpoint, retrying a failed POST.
func TestSNSHTTPSubscription(t *testing.T) {
	e, c, _ := snsEnv(t)
	e.srv.sns.push.backoff = func(int) time.Duration { return 10 * time.Millisecond }
	topic := mkTopic(t, c, "web", nil)
	var mu sync.Mutex
	var got []map[string]any
	fail := 2
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		mu.Lock()
		defer mu.Unlock()
		if m["Type"] == "Notification" && fail > 0 {
			fail--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		require.Equal(t, m["Type"], r.Header.Get("x-amz-sns-message-type"))
		got = append(got, m)
	}))
	t.Cleanup(hs.Close)
	sub, err := c.Subscribe(ctx(), &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("http"),
		Endpoint: aws.String(hs.URL + "/hook")})
	require.NoError(t, err)
	require.Equal(t, "pending confirmation", *sub.SubscriptionArn)
	received := func(n int) []map[string]any {
		eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= n })
		mu.Lock()
		defer mu.Unlock()
		return append([]map[string]any(nil), got...)
	}
	confirm := received(1)[0]
	require.Equal(t, "SubscriptionConfirmation", confirm["Type"])
	verifySignature(t, e, confirm)
	list, err := c.ListSubscriptionsByTopic(ctx(), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
	require.NoError(t, err)
	require.Equal(t, "PendingConfirmation", *list.Subscriptions[0].SubscriptionArn)

	// Visit SubscribeURL unsigned, as an endpoint does.
	resp, err := http.Get(confirm["SubscribeURL"].(string))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, string(body))
	require.Contains(t, string(body), "<SubscriptionArn>"+topic+":")

	_, err = c.ConfirmSubscription(ctx(), &sns.ConfirmSubscriptionInput{TopicArn: aws.String(topic), Token: aws.String("bad")})
	apiErr(t, err, "InvalidParameter", "Invalid token", 400)

	_, err = c.Publish(ctx(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("pushed")})
	require.NoError(t, err)
	n := received(2)[1]
	require.Equal(t, "Notification", n["Type"])
	require.Equal(t, "pushed", n["Message"])
	verifySignature(t, e, n)
}

// TestSNSCrossFace: amqp and mqtt subscriptions republish into the core.
func TestSNSCrossFace(t *testing.T) {
	e, c, _ := snsEnv(t)
	topic := mkTopic(t, c, "cross", nil)
	v, err := e.b.Vhost("/")
	require.NoError(t, err)
	for _, name := range []string{"amqp-q", "mqtt-q"} {
		_, _, err := v.DeclareQueue(core.QueueDecl{Name: name, Durable: true})
		require.NoError(t, err)
	}
	require.NoError(t, v.DeclareExchange(route.Exchange{Name: "events", Kind: route.Direct, Durable: true}, false))
	require.NoError(t, v.Bind(route.Binding{Source: "events", Key: "orders.new",
		Dest: route.Dest{Kind: route.DestQueue, Name: "amqp-q"}}))
	require.NoError(t, v.Bind(route.Binding{Source: "amq.topic", Key: "sensors.temp",
		Dest: route.Dest{Kind: route.DestQueue, Name: "mqtt-q"}}))
	_, err = c.Subscribe(ctx(), &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("amqp"),
		Endpoint: aws.String("amqp://%2F/events/orders.new"), Attributes: map[string]string{"RawMessageDelivery": "true"}})
	require.NoError(t, err)
	_, err = c.Subscribe(ctx(), &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("mqtt"),
		Endpoint: aws.String("sensors/temp")})
	require.NoError(t, err)
	_, err = c.Publish(ctx(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("across")})
	require.NoError(t, err)
	for _, name := range []string{"amqp-q", "mqtt-q"} {
		qq, err := v.Queue(name)
		require.NoError(t, err)
		eventually(t, func() bool { return qq.Stats().Ready > 0 })
		d, ok := qq.Get(true)
		require.True(t, ok)
		if name == "amqp-q" {
			require.Equal(t, "across", string(d.Msg.Body))
		} else {
			require.Contains(t, string(d.Msg.Body), `"Message":"across"`)
		}
	}
}
