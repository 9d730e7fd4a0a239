package conformance_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SNS SignatureVersion 1 is SHA1withRSA
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// snsPost is one POST an SNS http subscription received.
type snsPost struct {
	kind string         // x-amz-sns-message-type
	msg  map[string]any // the JSON body
}

// snsEndpoint is an HTTP subscriber in the test process.
func snsEndpoint(t *testing.T) (*httptest.Server, chan snsPost) {
	posts := make(chan snsPost, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("SNS POST body is not JSON: %v: %s", err, body)
		}
		posts <- snsPost{kind: r.Header.Get("x-amz-sns-message-type"), msg: m}
	}))
	t.Cleanup(srv.Close)
	return srv, posts
}

// nextPost waits for the subscriber's next POST.
func nextPost(t *testing.T, posts chan snsPost) snsPost {
	t.Helper()
	select {
	case p := <-posts:
		return p
	case <-time.After(20 * time.Second):
		t.Fatal("no POST reached the http subscriber")
		return snsPost{}
	}
}

// verifySNS checks a message's SignatureVersion 1 signature as
// awsgw.SNSSigningCertPath documents it: the certificate fetched from the
// gateway's SigningCertURL, the fields in their order, SHA1withRSA.
func verifySNS(t *testing.T, b *awsBroker, m map[string]any) {
	t.Helper()
	certURL := awsStr(m, "SigningCertURL")
	if !strings.HasPrefix(certURL, b.endpoint+"/") {
		t.Fatalf("SigningCertURL %q is not on the gateway %s", certURL, b.endpoint)
	}
	resp, err := http.Get(certURL)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	block, _ := pem.Decode(der)
	if block == nil {
		t.Fatalf("SigningCertURL served no PEM: %s", der)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	fields := []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"}
	if awsStr(m, "Type") != "Notification" {
		fields = []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"}
	}
	var sts strings.Builder
	for _, f := range fields {
		if v, ok := m[f].(string); ok {
			sts.WriteString(f + "\n" + v + "\n")
		}
	}
	sig, err := base64.StdEncoding.DecodeString(awsStr(m, "Signature"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum([]byte(sts.String())) //nolint:gosec // as AWS signs
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA1, sum[:], sig); err != nil {
		t.Fatalf("%s signature does not verify: %v", awsStr(m, "Type"), err)
	}
}

// TestAWSCLISNSHTTP drives an http subscription with Debian's awscli:
// the SubscriptionConfirmation POST, confirm-subscription with its
// token, a signed Notification, unsubscribe.
func TestAWSCLISNSHTTP(t *testing.T) {
	needAWSCLI(t)
	b := startAWSBroker(t)
	hook, posts := snsEndpoint(t)
	topic := awsStr(b.ok(t, "sns", "create-topic", "--name", "cli-http"), "TopicArn")
	sub := b.ok(t, "sns", "subscribe", "--topic-arn", topic, "--protocol", "http",
		"--notification-endpoint", hook.URL+"/hook")
	if awsStr(sub, "SubscriptionArn") != "pending confirmation" {
		t.Fatalf("subscribe http: %v", sub)
	}
	conf := nextPost(t, posts)
	if conf.kind != "SubscriptionConfirmation" || awsStr(conf.msg, "Token") == "" {
		t.Fatalf("confirmation: %s %v", conf.kind, conf.msg)
	}
	verifySNS(t, b, conf.msg)
	arn := awsStr(b.ok(t, "sns", "confirm-subscription", "--topic-arn", topic,
		"--token", awsStr(conf.msg, "Token")), "SubscriptionArn")
	if !strings.HasPrefix(arn, topic+":") {
		t.Fatalf("confirm-subscription: %q", arn)
	}
	pub := b.ok(t, "sns", "publish", "--topic-arn", topic, "--message", "pushed", "--subject", "s")
	note := nextPost(t, posts)
	if note.kind != "Notification" || awsStr(note.msg, "Message") != "pushed" ||
		awsStr(note.msg, "MessageId") != awsStr(pub, "MessageId") {
		t.Fatalf("notification: %s %v", note.kind, note.msg)
	}
	verifySNS(t, b, note.msg)
	b.ok(t, "sns", "unsubscribe", "--subscription-arn", arn)
	b.ok(t, "sns", "publish", "--topic-arn", topic, "--message", "after unsubscribe")
	select {
	case p := <-posts:
		t.Fatalf("POST after unsubscribe: %s %v", p.kind, p.msg)
	case <-time.After(time.Second):
	}
}

// TestAWSCLISNS drives SNS with Debian's awscli: a topic, an SQS
// subscription, the JSON envelope and raw delivery, then teardown.
func TestAWSCLISNS(t *testing.T) {
	needAWSCLI(t)
	b := startAWSBroker(t)
	topic := awsStr(b.ok(t, "sns", "create-topic", "--name", "cli-topic"), "TopicArn")
	url, qarn := b.createQueue(t, "cli-sub")
	sub := awsStr(b.ok(t, "sns", "subscribe", "--topic-arn", topic, "--protocol", "sqs",
		"--notification-endpoint", qarn, "--return-subscription-arn"), "SubscriptionArn")
	if !strings.HasPrefix(sub, topic+":") {
		t.Fatalf("subscription arn %q", sub)
	}
	if got := awsStr(b.ok(t, "sns", "list-subscriptions"), "Subscriptions", 0, "SubscriptionArn"); got != sub {
		t.Fatalf("list-subscriptions: %q", got)
	}
	pub := b.ok(t, "sns", "publish", "--topic-arn", topic, "--message", "hello", "--subject", "greeting",
		"--message-attributes", `{"k":{"DataType":"String","StringValue":"v"}}`)
	m := b.receiveOne(t, url)
	var env map[string]any
	if err := json.Unmarshal([]byte(awsStr(m, "Body")), &env); err != nil {
		t.Fatalf("envelope: %v: %s", err, awsStr(m, "Body"))
	}
	for k, v := range map[string]string{"Type": "Notification", "MessageId": awsStr(pub, "MessageId"),
		"TopicArn": topic, "Subject": "greeting", "Message": "hello", "SignatureVersion": "1"} {
		if awsStr(env, k) != v {
			t.Errorf("envelope %s = %q, want %q", k, awsStr(env, k), v)
		}
	}
	if awsStr(env, "MessageAttributes", "k", "Value") != "v" || awsStr(env, "Signature") == "" {
		t.Errorf("envelope: %v", env)
	}
	b.ok(t, "sqs", "delete-message", "--queue-url", url, "--receipt-handle", awsStr(m, "ReceiptHandle"))
	b.ok(t, "sns", "set-subscription-attributes", "--subscription-arn", sub,
		"--attribute-name", "RawMessageDelivery", "--attribute-value", "true")
	b.ok(t, "sns", "publish", "--topic-arn", topic, "--message", "raw body")
	if got := awsStr(b.receiveOne(t, url), "Body"); got != "raw body" {
		t.Fatalf("raw delivery: %q", got)
	}
	b.ok(t, "sns", "unsubscribe", "--subscription-arn", sub)
	if subs := awsField(b.ok(t, "sns", "list-subscriptions-by-topic", "--topic-arn", topic), "Subscriptions"); len(subs.([]any)) != 0 {
		t.Fatalf("after unsubscribe: %v", subs)
	}
	b.ok(t, "sns", "delete-topic", "--topic-arn", topic)
	b.fails(t, "NotFound", "Topic does not exist", "sns", "get-topic-attributes", "--topic-arn", topic)
	b.fails(t, "NotFound", "", "sns", "publish", "--topic-arn", topic, "--message", "x")
}
