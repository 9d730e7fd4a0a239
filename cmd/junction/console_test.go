package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	paho "github.com/eclipse/paho.mqtt.golang"
	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/config"
	"github.com/junctionmq/junction/mgmt/console"
)

// consoleBroker is the whole wiring (startBroker) with AMQP, MQTT, the AWS
// gateway and the management listener on 127.0.0.1:0.
type consoleBroker struct {
	broker
	mgmtURL string
}

func startConsoleBroker(t *testing.T) *consoleBroker {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	listeners := serveWired(t, cfg, config.AMQP, config.MQTT, config.AWS, config.Mgmt)
	return &consoleBroker{
		broker: broker{
			amqpURL:  "amqp://guest:guest@" + listeners[config.AMQP].Addr().String() + "/",
			mqttAddr: "tcp://" + listeners[config.MQTT].Addr().String(),
			awsURL:   "http://" + listeners[config.AWS].Addr().String(),
		},
		mgmtURL: "http://" + listeners[config.Mgmt].Addr().String(),
	}
}

// apiCall sends one management request as guest and returns the status
// and body.
func (b *consoleBroker) apiCall(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, b.mgmtURL+path, rd)
	require.NoError(t, err)
	req.SetBasicAuth("guest", "guest")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, data
}

// connectionName is the management API's name of an AMQP connection,
// found by the client's port.
func (b *consoleBroker) connectionName(t *testing.T, c *rmq.Connection) string {
	t.Helper()
	port := c.LocalAddr().(*net.TCPAddr).Port
	var name string
	require.Eventually(t, func() bool {
		code, body := b.apiCall(t, http.MethodGet, "/api/connections", nil)
		require.Equal(t, http.StatusOK, code, string(body))
		var conns []struct {
			Name     string `json:"name"`
			PeerPort int    `json:"peer_port"`
		}
		require.NoError(t, json.Unmarshal(body, &conns))
		for _, c := range conns {
			if c.PeerPort == port {
				name = c.Name
				return true
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond)
	return name
}

// consoleAPI is the console's table of endpoints ("key: 'METHOD /path'").
var consoleAPI = regexp.MustCompile(`(?m)^\s*(\w+): '(GET|POST|PUT|DELETE) (/api/[^']*)',$`)

// TestConsoleEndpointsExist requests every endpoint of the console's API
// table against the whole broker as an administrator: each must succeed
// (2xx; none missing or refusing the method), and the script may name no
// /api/ path outside that table. It also checks that the management listener serves
// the page without credentials while the API still asks for them.
func TestConsoleEndpointsExist(t *testing.T) {
	b := startConsoleBroker(t)
	ch := b.amqp(t)
	_, err := ch.QueueDeclare("console-paths", true, false, false, false, nil)
	require.NoError(t, err)

	js, err := fs.ReadFile(console.Files(), "console.js")
	require.NoError(t, err)
	entries := consoleAPI.FindAllStringSubmatch(string(js), -1)
	require.NotEmpty(t, entries)
	assert.Equal(t, strings.Count(string(js), "'/api/")+strings.Count(string(js), " /api/"), len(entries),
		"every /api/ path of console.js is in its API table")

	spare, err := rmq.Dial(b.amqpURL) // for connectionClose
	require.NoError(t, err)
	t.Cleanup(func() { _ = spare.Close() })
	// Path parameters by key ({vhost} is "/" unless set): the table
	// declares each object before it uses and then deletes it.
	params := map[string]map[string]string{
		"queueGet": {"name": "console-paths"}, "publish": {"name": "amq.default"}, "queuePurge": {"name": "console-paths"},
		"queueBindings": {"name": "console-paths"},
		"queuePut":      {"name": "console-paths-new"}, "queueDelete": {"name": "console-paths-new"},
		"exchangePut": {"name": "console-paths-x"}, "exchangeDelete": {"name": "console-paths-x"},
		"exchangeSourceBindings": {"name": "console-paths-x"}, "exchangeDestBindings": {"name": "console-paths-x"},
		"bindQueue":      {"source": "console-paths-x", "dest": "console-paths"},
		"unbindQueue":    {"source": "console-paths-x", "dest": "console-paths", "props": "~"},
		"bindExchange":   {"source": "console-paths-x", "dest": "amq.fanout"},
		"unbindExchange": {"source": "console-paths-x", "dest": "amq.fanout", "props": "~"},
		"userPut":        {"user": "console-paths-user"}, "userDelete": {"user": "console-paths-user"},
		"permissionPut": {"user": "console-paths-user"}, "permissionDelete": {"user": "console-paths-user"},
		"vhostPut": {"vhost": "console-paths-vhost"}, "vhostDelete": {"vhost": "console-paths-vhost"},
		"policyPut": {"name": "console-paths-policy"}, "policyDelete": {"name": "console-paths-policy"},
		"connectionClose": {"name": b.connectionName(t, spare)},
	}
	bodies := map[string]any{
		"queuePut":      map[string]any{"durable": true, "auto_delete": false, "type": "classic", "arguments": map[string]any{}},
		"queueGet":      map[string]any{"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto"},
		"publish":       map[string]any{"routing_key": "console-paths", "payload": "p", "payload_encoding": "string", "properties": map[string]any{}},
		"exchangePut":   map[string]any{"type": "direct", "durable": true, "arguments": map[string]any{}},
		"bindQueue":     map[string]any{"routing_key": "", "arguments": map[string]any{}},
		"bindExchange":  map[string]any{"routing_key": "", "arguments": map[string]any{}},
		"userPut":       map[string]any{"password": "pw", "tags": "management"},
		"permissionPut": map[string]any{"configure": ".*", "write": ".*", "read": ".*"},
		"vhostPut":      map[string]any{"description": "made by the test"},
		"policyPut":     map[string]any{"pattern": "^console-paths$", "apply-to": "queues", "definition": map[string]any{"max-length": 10}},
	}
	for _, e := range entries {
		key, method, tmpl := e[1], e[2], e[3]
		t.Run(key, func(t *testing.T) {
			path := regexp.MustCompile(`\{(\w+)\}`).ReplaceAllStringFunc(tmpl, func(ph string) string {
				v, ok := params[key][ph[1:len(ph)-1]]
				if !ok && ph == "{vhost}" {
					v, ok = "/", true
				}
				if !ok {
					return ph
				}
				return url.PathEscape(v)
			})
			require.NotContains(t, path, "{", "a placeholder the test does not fill")
			code, body := b.apiCall(t, method, path, bodies[key])
			require.True(t, code >= 200 && code < 300, "%s %s: %d %s", method, path, code, body)
			require.True(t, len(body) == 0 || json.Valid(body), "%s %s answers JSON", method, path)
		})
	}

	for _, p := range []string{"/", "/console/", "/console/console.js", "/console/console.css"} {
		res, err := http.Get(b.mgmtURL + p)
		require.NoError(t, err)
		_ = res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode, p)
		assert.Contains(t, res.Header.Get("Content-Security-Policy"), "script-src 'self'", p)
	}
	res, err := http.Get(b.mgmtURL + "/api/overview")
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "the API still needs credentials")
}

// TestConsoleFaceEndpoints: Junction's own endpoints list what the faces
// hold, as the console shows them: an MQTT session with its subscription,
// an SQS queue created through SQS, an SNS topic and its subscription, a
// Kinesis stream and its shards, and the per-face figures; a user without
// permissions in the vhost sees none of them.
func TestConsoleFaceEndpoints(t *testing.T) {
	b := startConsoleBroker(t)
	m := b.mqtt(t, "console-sensor")
	tok := m.Subscribe("plant/+/temp", 1, func(paho.Client, paho.Message) {})
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())
	ctx := context.Background()
	q, err := b.sqs(t).CreateQueue(ctx, sqsCreate("console-orders"))
	require.NoError(t, err)
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	sc := sns.New(sns.Options{Region: "us-east-1", BaseEndpoint: aws.String(b.awsURL), Credentials: creds})
	topic, err := sc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("console-alerts")})
	require.NoError(t, err)
	_, err = sc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String("arn:aws:sqs:us-east-1:000000000000:console-orders")})
	require.NoError(t, err, "queue %s", aws.ToString(q.QueueUrl))
	kc := kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String(b.awsURL), Credentials: creds})
	_, err = kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("console-clicks"), ShardCount: aws.Int32(2)})
	require.NoError(t, err)
	for i := range 3 {
		_, err = kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("console-clicks"),
			PartitionKey: aws.String(fmt.Sprint("user-", i)), Data: []byte("click")})
		require.NoError(t, err)
	}
	for range 2 {
		_, err = b.sqs(t).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("order")})
		require.NoError(t, err)
	}

	code, body := b.apiCall(t, "GET", "/api/junction/mqtt/clients", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var clients []struct {
		ClientID      string `json:"client_id"`
		Vhost, User   string
		Connected     bool `json:"connected"`
		Subscriptions []struct {
			Filter string `json:"filter"`
			QoS    int    `json:"qos"`
		} `json:"subscriptions"`
	}
	require.NoError(t, json.Unmarshal(body, &clients))
	require.Len(t, clients, 1)
	assert.Equal(t, "console-sensor", clients[0].ClientID)
	assert.True(t, clients[0].Connected)
	require.Len(t, clients[0].Subscriptions, 1)
	assert.Equal(t, "plant/+/temp", clients[0].Subscriptions[0].Filter)
	assert.Equal(t, 1, clients[0].Subscriptions[0].QoS)

	code, body = b.apiCall(t, "GET", "/api/junction/sqs/queues", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var queues []struct {
		Name, Vhost, Account string
	}
	require.NoError(t, json.Unmarshal(body, &queues))
	require.Len(t, queues, 1)
	assert.Equal(t, "console-orders", queues[0].Name)
	assert.Equal(t, "/", queues[0].Vhost)
	assert.Equal(t, "000000000000", queues[0].Account)

	code, body = b.apiCall(t, "GET", "/api/junction/sns/topics", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var topics []struct {
		ARN           string `json:"arn"`
		Subscriptions int    `json:"subscriptions"`
	}
	require.NoError(t, json.Unmarshal(body, &topics))
	require.Len(t, topics, 1)
	assert.Equal(t, aws.ToString(topic.TopicArn), topics[0].ARN)
	assert.Equal(t, 1, topics[0].Subscriptions)

	code, body = b.apiCall(t, "GET", "/api/junction/sns/subscriptions", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var subs []struct {
		TopicARN string `json:"topic_arn"`
		Protocol string `json:"protocol"`
	}
	require.NoError(t, json.Unmarshal(body, &subs))
	require.Len(t, subs, 1)
	assert.Equal(t, aws.ToString(topic.TopicArn), subs[0].TopicARN)
	assert.Equal(t, "sqs", subs[0].Protocol)

	code, body = b.apiCall(t, "GET", "/api/junction/kinesis/streams", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var streams []struct {
		Name       string `json:"name"`
		ARN        string `json:"arn"`
		Shards     int    `json:"shards"`
		OpenShards int    `json:"open_shards"`
		Records    int    `json:"records"`
		Details    []struct {
			ID       string `json:"shard_id"`
			Start    string `json:"starting_hash_key"`
			End      string `json:"ending_hash_key"`
			Open     bool   `json:"open"`
			Records  int    `json:"records"`
			Appended int    `json:"appended"`
		} `json:"shard_details"`
	}
	require.NoError(t, json.Unmarshal(body, &streams))
	require.Len(t, streams, 1)
	assert.Equal(t, "console-clicks", streams[0].Name)
	assert.Equal(t, "arn:aws:kinesis:us-east-1:000000000000:stream/console-clicks", streams[0].ARN)
	assert.Equal(t, 2, streams[0].OpenShards)
	assert.Equal(t, 3, streams[0].Records)
	// The shards, with AWS's ids and decimal hash-key ranges covering the
	// whole 128-bit space between them.
	require.Len(t, streams[0].Details, 2)
	sh := streams[0].Details
	assert.Equal(t, "shardId-000000000000", sh[0].ID)
	assert.Equal(t, "shardId-000000000001", sh[1].ID)
	assert.Equal(t, "0", sh[0].Start)
	assert.Equal(t, "340282366920938463463374607431768211455", sh[1].End)
	assert.True(t, sh[0].Open && sh[1].Open)
	assert.Equal(t, 3, sh[0].Records+sh[1].Records)
	assert.Equal(t, 3, sh[0].Appended+sh[1].Appended)

	code, body = b.apiCall(t, "GET", "/api/junction/faces", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var faces struct {
		Published map[string]int `json:"published"`
		MQTT      struct {
			Connected     int `json:"connected"`
			Subscriptions int `json:"subscriptions"`
		} `json:"mqtt"`
		AWS struct {
			SQSQueues        int `json:"sqs_queues"`
			SQSMessages      int `json:"sqs_messages"`
			SNSTopics        int `json:"sns_topics"`
			SNSSubscriptions int `json:"sns_subscriptions"`
			KinesisStreams   int `json:"kinesis_streams"`
			KinesisRecords   int `json:"kinesis_records"`
			KinesisAppended  int `json:"kinesis_records_appended"`
		} `json:"aws"`
	}
	require.NoError(t, json.Unmarshal(body, &faces))
	assert.Equal(t, 1, faces.MQTT.Connected)
	assert.Equal(t, 1, faces.AWS.SQSQueues)
	assert.Equal(t, 1, faces.AWS.SNSTopics)
	assert.Equal(t, 1, faces.AWS.SNSSubscriptions)
	assert.Equal(t, 1, faces.AWS.KinesisStreams)
	assert.Equal(t, 2, faces.AWS.SQSMessages)
	assert.Equal(t, 3, faces.AWS.KinesisRecords)
	assert.Equal(t, 3, faces.AWS.KinesisAppended)
	assert.Equal(t, 2, faces.Published["sqs"], "SQS sends: %v", faces.Published)
	for _, face := range []string{"core", "amqp", "mqtt", "sns", "kinesis"} {
		assert.Contains(t, faces.Published, face)
	}

	// A management user without permissions on "/" sees none of it.
	code, body = b.apiCall(t, "PUT", "/api/users/outsider", map[string]any{"password": "pw", "tags": "management"})
	require.Contains(t, []int{http.StatusCreated, http.StatusNoContent}, code, string(body))
	for _, path := range []string{"/api/junction/mqtt/clients", "/api/junction/sqs/queues", "/api/junction/sns/topics",
		"/api/junction/kinesis/streams"} {
		req, err := http.NewRequest(http.MethodGet, b.mgmtURL+path, nil)
		require.NoError(t, err)
		req.SetBasicAuth("outsider", "pw")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		data, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		assert.JSONEq(t, "[]", string(data), path)
	}
}

func sqsCreate(name string) *sqs.CreateQueueInput {
	return &sqs.CreateQueueInput{QueueName: aws.String(name)}
}

func sqsDelete(url, handle *string) *sqs.DeleteMessageInput {
	return &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: handle}
}

// chromium finds the browser the end-to-end test drives, or skips it.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("JUNCTION_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (apt-get install -y chromium, as .ci/run does): the console's browser test needs it")
	return ""
}

// tab drives one headless Chromium tab through the DevTools protocol.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu         sync.Mutex
	exceptions []string // uncaught page exceptions
}

func openBrowser(t *testing.T) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	p := &tab{t: t, ctx: ctx}
	// The first action starts the browser; it must not run under a timeout.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank"), watchCSP))
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			p.mu.Lock()
			d := e.ExceptionDetails
			text := d.Text
			if d.Exception != nil {
				text += " " + d.Exception.Description
			}
			p.exceptions = append(p.exceptions, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, text))
			p.mu.Unlock()
		}
	}))
	return p
}

// cspWatch records the page's Content-Security-Policy violations in
// window.cspViolations; it runs before the page's own script.
const cspWatch = `window.cspViolations = [];
document.addEventListener('securitypolicyviolation',
  e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));`

// watchCSP installs cspWatch in every document the tab loads.
var watchCSP chromedp.Action[chromedp.Void] = func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
	_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatch})
	return chromedp.Void{}, err
}

// do runs steps with a generous deadline (the machine may be busy).
func (p *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	require.NoError(p.t, chromedp.Do(ctx, steps...))
}

// eval evaluates a JavaScript expression in the page (DevTools evaluation,
// which the console's CSP does not restrict).
func (p *tab) eval(expr string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	require.NoError(p.t, err)
	return v
}

// waitFor polls the expression until it is "true"; what describes the
// condition for the failure message.
func (p *tab) waitFor(what, expr string) {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if p.eval(fmt.Sprintf("String(Boolean(%s))", expr)) == "true" {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("console: %s never happened; page text: %s", what, p.eval("document.body.innerText"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// textOf is an expression for the text of the element with id
// (parenthesized, so that "textOf(id) + ` === 'x'`" compares the text).
func textOf(id string) string {
	return fmt.Sprintf("((document.getElementById(%q) || {}).textContent || '')", id)
}

// TestConsoleInChromium drives the console in headless Chromium against
// the whole broker: a wrong password is refused, log in, see a queue
// declared over AMQP, publish to it from the page and read the message over
// SQS, get a message published over AMQP from the page, declare, purge and
// delete a queue from the page (checked over AMQP), close an AMQP
// connection from the page, open every page, log out.
func TestConsoleInChromium(t *testing.T) {
	b := startConsoleBroker(t)
	p := openBrowser(t) // closed before the broker stops (cleanups run last first)
	ch := b.amqp(t)
	const queue = "console-e2e"
	_, err := ch.QueueDeclare(queue, true, false, false, false, nil)
	require.NoError(t, err)

	// A wrong password is refused on the page and nothing is kept.
	p.do(chromedp.Navigate(b.mgmtURL+"/"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "guest"),
		chromedp.SendKeys(chromedp.ID("password"), "wrong"),
		chromedp.Click(chromedp.ID("login")))
	p.waitFor("the login refused", textOf("login-error")+`.startsWith('Login failed')`)
	assert.Equal(t, "null", p.eval(`String(sessionStorage.getItem('junction.auth'))`))

	// Log in: the credentials go to sessionStorage, never into the URL.
	p.eval(`document.getElementById('password').value = ''`)
	p.do(chromedp.SendKeys(chromedp.ID("password"), "guest"),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("nav")))
	p.waitFor("overview tiles", `document.querySelectorAll('#tiles .tile').length > 0`)
	assert.NotContains(t, p.eval("location.href"), "guest")
	assert.Equal(t, "guest", p.eval(`sessionStorage.getItem('junction.user')`))

	// The queue declared over AMQP is listed.
	p.do(chromedp.Click(chromedp.CSS(`#nav a[href="#/queues"]`)))
	p.waitFor("the AMQP queue listed", `[...document.querySelectorAll('#queue-table td')].some(td => td.textContent === '`+queue+`')`)

	// Publish from the exchanges page to the default exchange, routed to
	// the queue by its name.
	p.do(chromedp.Click(chromedp.CSS(`#nav a[href="#/exchanges"]`)))
	p.waitFor("the exchange list in the publish form", `document.querySelector('#pub-exchange option[value="amq.direct"]')`)
	p.eval(`document.getElementById('pub-exchange').value = ''`) // (AMQP default)
	require.Equal(t, "(AMQP default)", p.eval(`document.getElementById('pub-exchange').selectedOptions[0].textContent`))
	p.do(chromedp.SendKeys(chromedp.ID("pub-key"), queue),
		chromedp.SendKeys(chromedp.ID("pub-payload"), "hello from the console"),
		chromedp.Click(chromedp.ID("pub-submit")))
	p.waitFor("the publish confirmed", textOf("pub-result")+` === 'Message published.'`)

	// A real SQS client reads what the page published.
	c := b.sqs(t)
	msg := receiveOne(t, c, b.queueURL(queue))
	assert.Equal(t, "hello from the console", aws.ToString(msg.Body))
	_, err = c.DeleteMessage(context.Background(), sqsDelete(b.queueURL(queue), msg.ReceiptHandle))
	require.NoError(t, err)

	// A message published over AMQP is read from the page (Get messages).
	require.NoError(t, ch.PublishWithContext(context.Background(), "", queue, false, false,
		rmq.Publishing{ContentType: "text/plain", Body: []byte("hello from AMQP")}))
	p.do(chromedp.Click(chromedp.CSS(`#nav a[href="#/queues"]`)))
	p.waitFor("the queue listed again", `[...document.querySelectorAll('#queue-table td')].some(td => td.textContent === '`+queue+`')`)
	p.eval(`[...document.querySelectorAll('#queue-table td')].find(td => td.textContent === '` + queue + `').click(), ''`)
	p.do(chromedp.WaitVisible(chromedp.ID("get-submit")),
		chromedp.Click(chromedp.ID("get-submit")))
	p.waitFor("the message got from the page", `[...document.querySelectorAll('.message-payload')].some(e => e.textContent === 'hello from AMQP')`)

	// Declare a queue from the page; AMQP sees it. Purge it and delete it
	// from the page (each button asks for a second click).
	const added = "console-added"
	p.do(chromedp.SendKeys(chromedp.ID("declare-name"), added))
	p.waitFor("the vhosts in the declare form", `document.querySelector('#declare-vhost option[value="/"]')`)
	p.do(chromedp.Click(chromedp.ID("declare-submit")))
	p.waitFor("the queue declared", textOf("declare-result")+` === 'Queue `+added+` declared.'`)
	check := b.amqp(t)
	q, err := check.QueueDeclarePassive(added, true, false, false, false, nil)
	require.NoError(t, err)
	require.Equal(t, 0, q.Messages)
	for _, body := range []string{"one", "two"} {
		require.NoError(t, ch.PublishWithContext(context.Background(), "", added, false, false, rmq.Publishing{Body: []byte(body)}))
	}
	require.Eventually(t, func() bool {
		q, err := check.QueueInspect(added)
		return err == nil && q.Messages == 2
	}, 30*time.Second, 50*time.Millisecond)
	p.waitFor("the added queue listed", `[...document.querySelectorAll('#queue-table td')].some(td => td.textContent === '`+added+`')`)
	p.eval(`[...document.querySelectorAll('#queue-table td')].find(td => td.textContent === '` + added + `').click(), ''`)
	p.do(chromedp.WaitVisible(chromedp.ID("purge-queue")),
		chromedp.Click(chromedp.ID("purge-queue")), chromedp.Click(chromedp.ID("purge-queue")))
	p.waitFor("the queue purged", textOf("manage-result")+` === 'Queue `+added+` purged.'`)
	q, err = check.QueueInspect(added)
	require.NoError(t, err)
	assert.Equal(t, 0, q.Messages)
	p.do(chromedp.Click(chromedp.ID("delete-queue")), chromedp.Click(chromedp.ID("delete-queue")))
	p.waitFor("the queue deleted", textOf("manage-result")+` === 'Queue `+added+` deleted.'`)
	_, err = check.QueueInspect(added)
	var amqpErr *rmq.Error
	require.ErrorAs(t, err, &amqpErr)
	assert.Equal(t, rmq.NotFound, amqpErr.Code)

	// Close an AMQP connection from the connections page: the client is
	// told 320 CONNECTION_FORCED.
	victim, err := rmq.Dial(b.amqpURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = victim.Close() })
	closed := victim.NotifyClose(make(chan *rmq.Error, 1))
	name := b.connectionName(t, victim)
	p.do(chromedp.Click(chromedp.CSS(`#nav a[href="#/connections"]`)))
	p.waitFor("the connection listed", fmt.Sprintf(`document.querySelector('button.close-connection[data-name=%q]')`, name))
	for range 2 { // arm, then close (the button survives the table's refreshes)
		p.eval(fmt.Sprintf(`document.querySelector('button.close-connection[data-name=%q]').click(), ''`, name))
	}
	select {
	case e := <-closed:
		require.NotNil(t, e)
		assert.Equal(t, rmq.ConnectionForced, e.Code)
	case <-time.After(30 * time.Second):
		t.Fatal("the connection closed from the page is still open")
	}
	p.waitFor("the close reported", textOf("close-result")+` === 'Connection `+name+` closed.'`)

	// Every other page renders without a failure.
	for _, name := range []string{"bindings", "connections", "mqtt", "aws", "users", "overview"} {
		p.do(chromedp.Click(chromedp.CSS(`#nav a[href="#/` + name + `"]`)))
		p.waitFor(name+" page refreshed", `document.getElementById('page').dataset.refreshed === '`+name+`'`)
	}

	// The page broke none of its own CSP (the watcher does see a breach).
	assert.Equal(t, "[]", p.eval(`JSON.stringify(window.cspViolations)`))
	p.eval(`document.body.setAttribute('style', 'color: red'), ''`)
	p.waitFor("the CSP watcher's self-check", `window.cspViolations.length === 1`)

	// Log out: the credentials are gone and the login form is back.
	p.do(chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-form")))
	assert.Equal(t, "null", p.eval(`String(sessionStorage.getItem('junction.auth'))`))
	assert.Equal(t, "true", p.eval(`String(document.getElementById('app-view').hidden)`))

	p.mu.Lock()
	assert.Empty(t, p.exceptions, "uncaught exceptions in the page")
	p.mu.Unlock()
}
