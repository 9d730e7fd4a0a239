package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// The SQS wire protocols SQSConfig.Protocol names.
const (
	SQSJSON  = "json"  // AWS JSON 1.0 through aws-sdk-go-v2's sqs client
	SQSQuery = "query" // Query: SigV4-signed form posts, XML answers
)

// The Query clients SQSConfig.Client names.
const (
	SQSLean = "lean" // leanSQS: hand-rolled forms, SigV4 and XML scanning
	SQSStd  = "std"  // querySQS: the SDK's signer, url.Values, encoding/xml
)

// sqsMessage is a received message.
type sqsMessage struct{ body, handle string }

// sqsAPI is what a run needs of an SQS client.
type sqsAPI interface {
	createQueue(ctx context.Context, name string) (string, error)
	deleteQueue(ctx context.Context, queueURL string) error
	send(ctx context.Context, queueURL string, bodies []string) error
	receive(ctx context.Context, queueURL string, max, wait int) ([]sqsMessage, error)
	delete(ctx context.Context, queueURL string, handles []string) error
}

// benchCreds are the credentials every AWS client of the bench signs with
// (Junction's guest key pair; goaws and kinesalite accept anything).
var benchCreds = credentials.NewStaticCredentialsProvider("test", "test", "")

// awsConfig is the SDK configuration shared by the bench's AWS clients:
// static credentials, no retries, a connection pool as large as conns.
func awsConfig(region string, conns int) aws.Config {
	// A plain http.Client: the SDK leaves it alone (a BuildableClient
	// would get the SDK's per-service read timeouts).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns*2, conns*2
	hc := &http.Client{Transport: bodyGuard{tr}, Timeout: 60 * time.Second}
	return aws.Config{Region: region, Credentials: benchCreds, HTTPClient: hc,
		Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
}

// sdkSQS is aws-sdk-go-v2's sqs client (AWS JSON 1.0).
type sdkSQS struct{ c *sqs.Client }

func newSDKSQS(endpoint, region string, conns int) *sdkSQS {
	return &sdkSQS{sqs.NewFromConfig(awsConfig(region, conns), func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) })}
}

func (s *sdkSQS) createQueue(ctx context.Context, name string) (string, error) {
	out, err := s.c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.QueueUrl), nil
}

func (s *sdkSQS) deleteQueue(ctx context.Context, u string) error {
	_, err := s.c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
	return err
}

func (s *sdkSQS) send(ctx context.Context, u string, bodies []string) error {
	if len(bodies) == 1 {
		_, err := s.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String(bodies[0])})
		return err
	}
	entries := make([]types.SendMessageBatchRequestEntry, len(bodies))
	for i, b := range bodies {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)}
	}
	out, err := s.c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(u), Entries: entries})
	if err == nil && len(out.Failed) > 0 {
		err = fmt.Errorf("bench: SendMessageBatch: %d failed: %s", len(out.Failed), aws.ToString(out.Failed[0].Message))
	}
	return err
}

func (s *sdkSQS) receive(ctx context.Context, u string, max, wait int) ([]sqsMessage, error) {
	out, err := s.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u),
		MaxNumberOfMessages: int32(max), WaitTimeSeconds: int32(wait)})
	if err != nil {
		return nil, err
	}
	msgs := make([]sqsMessage, len(out.Messages))
	for i, m := range out.Messages {
		msgs[i] = sqsMessage{aws.ToString(m.Body), aws.ToString(m.ReceiptHandle)}
	}
	return msgs, nil
}

func (s *sdkSQS) delete(ctx context.Context, u string, handles []string) error {
	if len(handles) == 1 {
		_, err := s.c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(u), ReceiptHandle: aws.String(handles[0])})
		return err
	}
	entries := make([]types.DeleteMessageBatchRequestEntry, len(handles))
	for i, h := range handles {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h)}
	}
	out, err := s.c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(u), Entries: entries})
	if err == nil && len(out.Failed) > 0 {
		err = fmt.Errorf("bench: DeleteMessageBatch: %d failed: %s", len(out.Failed), aws.ToString(out.Failed[0].Message))
	}
	return err
}

// querySQS speaks SQS's Query protocol: form posts signed with the SDK's
// SigV4 signer, XML answers (what goaws v0.4.5, awscli 2.9 and boto3 1.26
// speak).
type querySQS struct {
	endpoint, region string
	hc               *http.Client
	signer           *v4.Signer
	creds            aws.Credentials
}

func newQuerySQS(endpoint, region string, conns int) *querySQS {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns*2, conns*2
	creds, _ := benchCreds.Retrieve(context.Background())
	return &querySQS{endpoint: endpoint, region: region, signer: v4.NewSigner(), creds: creds,
		hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// call posts one signed Query request and decodes the XML answer into out.
func (q *querySQS) call(ctx context.Context, action string, form url.Values, out any) error {
	form.Set("Action", action)
	form.Set("Version", "2012-11-05")
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, q.endpoint+"/", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sum := sha256.Sum256([]byte(body))
	if err := q.signer.SignHTTP(ctx, q.creds, req, hex.EncodeToString(sum[:]), "sqs", q.region, time.Now()); err != nil {
		return err
	}
	resp, err := q.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("bench: %s: HTTP %d: %s", action, resp.StatusCode, bytes.TrimSpace(b[:min(len(b), 300)]))
	}
	if out == nil {
		return nil
	}
	return xml.Unmarshal(b, out)
}

func (q *querySQS) createQueue(ctx context.Context, name string) (string, error) {
	var out struct {
		URL string `xml:"CreateQueueResult>QueueUrl"`
	}
	err := q.call(ctx, "CreateQueue", url.Values{"QueueName": {name}}, &out)
	return out.URL, err
}

func (q *querySQS) deleteQueue(ctx context.Context, u string) error {
	return q.call(ctx, "DeleteQueue", url.Values{"QueueUrl": {u}}, nil)
}

// batchFailures is the failed entries of a Query batch answer.
type batchFailures struct {
	Send   []batchFailure `xml:"SendMessageBatchResult>BatchResultErrorEntry"`
	Delete []batchFailure `xml:"DeleteMessageBatchResult>BatchResultErrorEntry"`
}

// batchFailure is one failed entry.
type batchFailure struct {
	Message string `xml:"Message"`
}

func (f *batchFailures) err(action string) error {
	failed := append(f.Send, f.Delete...)
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("bench: %s: %d failed: %s", action, len(failed), failed[0].Message)
}

func (q *querySQS) send(ctx context.Context, u string, bodies []string) error {
	form := url.Values{"QueueUrl": {u}}
	if len(bodies) == 1 {
		form.Set("MessageBody", bodies[0])
		return q.call(ctx, "SendMessage", form, nil)
	}
	for i, b := range bodies {
		p := "SendMessageBatchRequestEntry." + strconv.Itoa(i+1) + "."
		form.Set(p+"Id", strconv.Itoa(i))
		form.Set(p+"MessageBody", b)
	}
	var out batchFailures
	if err := q.call(ctx, "SendMessageBatch", form, &out); err != nil {
		return err
	}
	return out.err("SendMessageBatch")
}

func (q *querySQS) receive(ctx context.Context, u string, max, wait int) ([]sqsMessage, error) {
	var out struct {
		Messages []struct {
			Body   string `xml:"Body"`
			Handle string `xml:"ReceiptHandle"`
		} `xml:"ReceiveMessageResult>Message"`
	}
	form := url.Values{"QueueUrl": {u}, "MaxNumberOfMessages": {strconv.Itoa(max)}, "WaitTimeSeconds": {strconv.Itoa(wait)}}
	if err := q.call(ctx, "ReceiveMessage", form, &out); err != nil {
		return nil, err
	}
	msgs := make([]sqsMessage, len(out.Messages))
	for i, m := range out.Messages {
		msgs[i] = sqsMessage{m.Body, m.Handle}
	}
	return msgs, nil
}

func (q *querySQS) delete(ctx context.Context, u string, handles []string) error {
	form := url.Values{"QueueUrl": {u}}
	if len(handles) == 1 {
		form.Set("ReceiptHandle", handles[0])
		return q.call(ctx, "DeleteMessage", form, nil)
	}
	for i, h := range handles {
		p := "DeleteMessageBatchRequestEntry." + strconv.Itoa(i+1) + "."
		form.Set(p+"Id", strconv.Itoa(i))
		form.Set(p+"ReceiptHandle", h)
	}
	var out batchFailures
	if err := q.call(ctx, "DeleteMessageBatch", form, &out); err != nil {
		return err
	}
	return out.err("DeleteMessageBatch")
}
