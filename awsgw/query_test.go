package awsgw

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/message"
)

// queryCall posts a signed Query-protocol form and returns status and body.
func queryCall(t *testing.T, e *testEnv, path string, form url.Values, secret string, signedAt time.Time) (int, string) {
	t.Helper()
	form.Set("Version", "2012-11-05")
	body := form.Encode()
	req, err := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sum := sha256.Sum256([]byte(body))
	err = v4.NewSigner().SignHTTP(ctx(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "sqs", "us-east-1", signedAt)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NotEmpty(t, resp.Header.Get("x-amzn-RequestId"))
	return resp.StatusCode, string(data)
}

type xmlError struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

func TestQueryProtocol(t *testing.T) {
	e := newEnv(t, Config{})
	now := time.Now()
	st, body := queryCall(t, e, "/", url.Values{"Action": {"CreateQueue"}, "QueueName": {"qq"},
		"Attribute.1.Name": {"VisibilityTimeout"}, "Attribute.1.Value": {"40"}, "Tag.1.Key": {"k"}, "Tag.1.Value": {"v"}}, "test", now)
	require.Equal(t, 200, st, body)
	var created struct {
		XMLName  xml.Name `xml:"CreateQueueResponse"`
		QueueURL string   `xml:"CreateQueueResult>QueueUrl"`
		ReqID    string   `xml:"ResponseMetadata>RequestId"`
	}
	require.NoError(t, xml.Unmarshal([]byte(body), &created))
	require.True(t, strings.HasSuffix(created.QueueURL, "/000000000000/qq"))
	require.NotEmpty(t, created.ReqID)
	require.Contains(t, body, `xmlns="http://queue.amazonaws.com/doc/2012-11-05/"`)

	st, body = queryCall(t, e, "/000000000000/qq", url.Values{"Action": {"SendMessage"}, "MessageBody": {"hello <&>"},
		"MessageAttribute.1.Name": {"Foo"}, "MessageAttribute.1.Value.DataType": {"String"},
		"MessageAttribute.1.Value.StringValue": {"Bar"}}, "test", now)
	require.Equal(t, 200, st, body)
	var sent struct {
		MD5Body  string `xml:"SendMessageResult>MD5OfMessageBody"`
		MD5Attrs string `xml:"SendMessageResult>MD5OfMessageAttributes"`
		ID       string `xml:"SendMessageResult>MessageId"`
	}
	require.NoError(t, xml.Unmarshal([]byte(body), &sent))
	require.Equal(t, md5Hex([]byte("hello <&>")), sent.MD5Body)
	require.Equal(t, "ae7155c6026991b6d54b11589678bf9c", sent.MD5Attrs) // Foo=Bar, as AWS recorded it

	st, body = queryCall(t, e, "/", url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {created.QueueURL},
		"AttributeName.1": {"All"}, "MessageAttributeName.1": {"All"}}, "test", now)
	require.Equal(t, 200, st, body)
	var recv struct {
		Messages []struct {
			ID     string `xml:"MessageId"`
			Handle string `xml:"ReceiptHandle"`
			Body   string `xml:"Body"`
			Attrs  []struct {
				Name  string `xml:"Name"`
				Value string `xml:"Value"`
			} `xml:"Attribute"`
			MsgAttrs []struct {
				Name     string `xml:"Name"`
				DataType string `xml:"Value>DataType"`
				Str      string `xml:"Value>StringValue"`
			} `xml:"MessageAttribute"`
		} `xml:"ReceiveMessageResult>Message"`
	}
	require.NoError(t, xml.Unmarshal([]byte(body), &recv))
	require.Len(t, recv.Messages, 1)
	m := recv.Messages[0]
	require.Equal(t, sent.ID, m.ID)
	require.Equal(t, "hello <&>", m.Body)
	require.Len(t, m.MsgAttrs, 1)
	require.Equal(t, "Bar", m.MsgAttrs[0].Str)
	require.NotEmpty(t, m.Attrs)

	st, body = queryCall(t, e, "/", url.Values{"Action": {"GetQueueAttributes"}, "QueueUrl": {created.QueueURL},
		"AttributeName.1": {"VisibilityTimeout"}}, "test", now)
	require.Equal(t, 200, st, body)
	require.Contains(t, body, "<Attribute><Name>VisibilityTimeout</Name><Value>40</Value></Attribute>")

	st, body = queryCall(t, e, "/", url.Values{"Action": {"ListQueueTags"}, "QueueUrl": {created.QueueURL}}, "test", now)
	require.Equal(t, 200, st, body)
	require.Contains(t, body, "<Tag><Key>k</Key><Value>v</Value></Tag>")

	st, body = queryCall(t, e, "/", url.Values{"Action": {"DeleteMessageBatch"}, "QueueUrl": {created.QueueURL},
		"DeleteMessageBatchRequestEntry.1.Id": {"a"}, "DeleteMessageBatchRequestEntry.1.ReceiptHandle": {m.Handle}}, "test", now)
	require.Equal(t, 200, st, body)
	require.Contains(t, body, "<DeleteMessageBatchResultEntry><Id>a</Id></DeleteMessageBatchResultEntry>")

	st, body = queryCall(t, e, "/", url.Values{"Action": {"ListQueues"}}, "test", now)
	require.Equal(t, 200, st, body)
	require.Contains(t, body, "<ListQueuesResult><QueueUrl>"+created.QueueURL+"</QueueUrl></ListQueuesResult>")

	st, body = queryCall(t, e, "/", url.Values{"Action": {"DeleteQueue"}, "QueueUrl": {created.QueueURL}}, "test", now)
	require.Equal(t, 200, st, body)
	require.Contains(t, body, "<DeleteQueueResponse")
}

func TestQueryErrors(t *testing.T) {
	e := newEnv(t, Config{})
	now := time.Now()
	for _, tc := range []struct {
		name   string
		form   url.Values
		secret string
		at     time.Time
		status int
		code   string
		msg    string
	}{
		{"no queue", url.Values{"Action": {"GetQueueUrl"}, "QueueName": {"nope"}}, "test", now, 400,
			"AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist for this wsdl version."},
		{"wrong secret", url.Values{"Action": {"ListQueues"}}, "wrong", now, 403, "SignatureDoesNotMatch", ""},
		{"expired", url.Values{"Action": {"ListQueues"}}, "test", now.Add(-20 * time.Minute), 403, "SignatureDoesNotMatch", ""},
		{"bad action", url.Values{"Action": {"Frobnicate"}}, "test", now, 400, "InvalidAction", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := queryCall(t, e, "/", tc.form, tc.secret, tc.at)
			require.Equal(t, tc.status, st, body)
			var xe xmlError
			require.NoError(t, xml.Unmarshal([]byte(body), &xe), body)
			require.Equal(t, tc.code, xe.Code)
			require.Equal(t, "Sender", xe.Type)
			require.NotEmpty(t, xe.RequestID)
			if tc.msg != "" {
				require.Equal(t, tc.msg, xe.Message)
			}
		})
	}
	require.True(t, strings.HasPrefix(toAPIError(errSignatureExpired("a", "b", "c")).Message, "Signature expired: a is now earlier than b"))

	// SNS actions Junction lacks are refused AWS-style, in SNS's namespace.
	form := url.Values{"Action": {"CreatePlatformApplication"}, "Version": {"2010-03-31"}}
	req, _ := http.NewRequest(http.MethodPost, e.url+"/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sum := sha256.Sum256([]byte(form.Encode()))
	require.NoError(t, v4.NewSigner().SignHTTP(ctx(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"},
		req, hex.EncodeToString(sum[:]), "sns", "us-east-1", now))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 400, resp.StatusCode)
	require.Contains(t, string(data), "<Code>InvalidAction</Code>")
	require.Contains(t, string(data), "http://sns.amazonaws.com/doc/2010-03-31/")
}

func TestSigV4(t *testing.T) {
	e := newEnv(t, Config{})
	_, err := e.client(t, "test", "wrong").ListQueues(ctx(), &sqs.ListQueuesInput{})
	apiErr(t, err, "SignatureDoesNotMatch", "", 403)
	_, err = e.client(t, "AKIAUNKNOWN", "x").ListQueues(ctx(), &sqs.ListQueuesInput{})
	apiErr(t, err, "InvalidClientTokenId", "The security token included in the request is invalid.", 403)

	// Unsigned requests.
	req, _ := http.NewRequest(http.MethodPost, e.url+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "AmazonSQS.ListQueues")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amzn-Query-Mode", "true")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 403, resp.StatusCode)
	require.Equal(t, "MissingAuthenticationToken;Sender", resp.Header.Get("x-amzn-query-error"))
	require.Contains(t, string(data), "MissingAuthenticationTokenException")

	// Presigned GET.
	q := url.Values{"Action": {"ListQueues"}, "Version": {"2012-11-05"}, "X-Amz-Expires": {"300"}}
	req, _ = http.NewRequest(http.MethodGet, e.url+"/?"+q.Encode(), nil)
	signed, _, err := v4.NewSigner().PresignHTTP(ctx(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"},
		req, hex.EncodeToString(sha256.New().Sum(nil)), "sqs", "us-east-1", time.Now())
	require.NoError(t, err)
	resp, err = http.Get(signed)
	require.NoError(t, err)
	data, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, string(data))
	require.Contains(t, string(data), "<ListQueuesResponse")

	// AcceptAnyKey lets anything in.
	any := newEnv(t, Config{AcceptAnyKey: true})
	_, err = any.client(t, "whatever", "wrong").CreateQueue(ctx(), &sqs.CreateQueueInput{QueueName: aws.String("open")})
	require.NoError(t, err)
}

func TestCrossFace(t *testing.T) {
	e, c := sdkEnv(t)
	url := createQueue(t, c, "cross", nil)
	v, err := e.b.Vhost("/")
	require.NoError(t, err)

	// As AMQP publishes: a text body with headers, then a binary body.
	m := &message.Message{RoutingKey: "cross", Body: []byte("from amqp"), Origin: message.FaceAMQP,
		Props: message.Properties{Flags: message.FlagHeaders, Headers: message.Table{{Key: "color", Value: "blue"}, {Key: "n", Value: int32(7)}}}}
	routed, err := v.Publish(m, nil)
	require.NoError(t, err)
	require.True(t, routed)
	_, err = v.Publish(&message.Message{RoutingKey: "cross", Body: []byte{0xff, 0x00, 0x01}, Origin: message.FaceAMQP}, nil)
	require.NoError(t, err)

	var bodies []string
	eventually(t, func() bool {
		out, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10,
			MessageAttributeNames: []string{"All"}})
		require.NoError(t, err) // the SDK verifies MD5OfBody and MD5OfMessageAttributes
		for _, m := range out.Messages {
			bodies = append(bodies, *m.Body)
			if *m.Body == "from amqp" {
				require.Equal(t, "blue", *m.MessageAttributes["color"].StringValue)
				require.Equal(t, "7", *m.MessageAttributes["n"].StringValue)
			} else {
				require.Equal(t, "base64", *m.MessageAttributes[BodyEncodingAttribute].StringValue)
			}
		}
		return len(bodies) == 2
	})
	require.ElementsMatch(t, []string{"from amqp", "/wAB"}, bodies)

	// SQS → core: an AMQP basic.get sees the same message, persistent.
	_, err = c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("from sqs")})
	require.NoError(t, err)
	q, err := v.Queue("cross")
	require.NoError(t, err)
	var d struct {
		ok   bool
		body string
		mode uint8
	}
	eventually(t, func() bool {
		got, ok := q.Get(true)
		if ok {
			d.ok, d.body, d.mode = true, string(got.Msg.Body), got.Msg.Props.DeliveryMode
		}
		return d.ok
	})
	require.Equal(t, "from sqs", d.body)
	require.EqualValues(t, 2, d.mode)
}
