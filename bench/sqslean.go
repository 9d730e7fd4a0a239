package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// leanSQS is the Query protocol with as little client work as the
// protocol allows, so that a run measures the broker rather than the
// load client: form bodies appended into pooled buffers from prebuilt
// parameter names, SigV4 computed by hand with the signing key derived
// once a day, and the XML answers scanned for the few elements the run
// needs (MessageId, ReceiptHandle, Body, failed batch entries) instead of
// decoded by encoding/xml. querySQS (SDK signer, url.Values, encoding/xml)
// stays as the "std" client.
type leanSQS struct {
	endpoint, host, region string
	akid, secret           string
	hc                     *http.Client
	bufs                   sync.Pool // *leanBuf

	mu      sync.Mutex // guards the cached signing key and date
	keyDay  string     // yyyymmdd the key was derived for
	key     []byte
	stampAt int64  // unix second of stamp
	stamp   string // X-Amz-Date for stampAt
}

// leanBuf is one call's scratch: the form body and the answer.
type leanBuf struct{ form, resp []byte }

// Prebuilt parameter names of the batch entries, 1-based.
var (
	leanSendID, leanSendBody, leanDelID, leanDelHandle [11]string
)

func init() {
	for i := 1; i <= 10; i++ {
		n := strconv.Itoa(i)
		leanSendID[i] = "&SendMessageBatchRequestEntry." + n + ".Id=" + strconv.Itoa(i-1)
		leanSendBody[i] = "&SendMessageBatchRequestEntry." + n + ".MessageBody="
		leanDelID[i] = "&DeleteMessageBatchRequestEntry." + n + ".Id=" + strconv.Itoa(i-1)
		leanDelHandle[i] = "&DeleteMessageBatchRequestEntry." + n + ".ReceiptHandle="
	}
}

func newLeanSQS(endpoint, region string, conns int) (*leanSQS, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("bench: endpoint %q: %w", endpoint, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns*2, conns*2
	tr.DisableCompression = true
	creds, _ := benchCreds.Retrieve(context.Background())
	return &leanSQS{endpoint: endpoint + "/", host: u.Host, region: region,
		akid: creds.AccessKeyID, secret: creds.SecretAccessKey,
		hc:   &http.Client{Transport: tr, Timeout: 60 * time.Second},
		bufs: sync.Pool{New: func() any { return &leanBuf{form: make([]byte, 0, 4096), resp: make([]byte, 0, 8192)} }},
	}, nil
}

// appendQueryEscape appends s escaped as url.QueryEscape escapes it.
func appendQueryEscape(b []byte, s string) []byte {
	const hexd = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', hexd[c>>4], hexd[c&15])
		}
	}
	return b
}

// begin starts a form body with the action, version and queue URL.
func (l *leanSQS) begin(b []byte, action, queueURL string) []byte {
	b = append(b, "Action="...)
	b = append(b, action...)
	b = append(b, "&Version=2012-11-05"...)
	if queueURL != "" {
		b = append(b, "&QueueUrl="...)
		b = appendQueryEscape(b, queueURL)
	}
	return b
}

// signingKey returns the SigV4 key of the day and the X-Amz-Date of now,
// both cached.
func (l *leanSQS) signingKey(now time.Time) (key []byte, amzDate string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sec := now.Unix(); sec != l.stampAt || l.stamp == "" {
		l.stampAt, l.stamp = sec, now.UTC().Format("20060102T150405Z")
	}
	if day := l.stamp[:8]; day != l.keyDay {
		k := hmacSHA256([]byte("AWS4"+l.secret), day)
		k = hmacSHA256(k, l.region)
		k = hmacSHA256(k, "sqs")
		l.key, l.keyDay = hmacSHA256(k, "aws4_request"), day
	}
	return l.key, l.stamp
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// authorization signs a form post of body with SigV4 (headers
// content-type, host and x-amz-date).
func (l *leanSQS) authorization(body []byte, now time.Time) (auth, amzDate string) {
	key, amzDate := l.signingKey(now)
	sum := sha256.Sum256(body)
	var canon []byte
	canon = append(canon, "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:"...)
	canon = append(canon, l.host...)
	canon = append(canon, "\nx-amz-date:"...)
	canon = append(canon, amzDate...)
	canon = append(canon, "\n\ncontent-type;host;x-amz-date\n"...)
	canon = hex.AppendEncode(canon, sum[:])
	csum := sha256.Sum256(canon)
	scope := amzDate[:8] + "/" + l.region + "/sqs/aws4_request"
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(csum[:])
	sig := hmacSHA256(key, sts)
	return "AWS4-HMAC-SHA256 Credential=" + l.akid + "/" + scope +
		", SignedHeaders=content-type;host;x-amz-date, Signature=" + hex.EncodeToString(sig), amzDate
}

// post sends buf.form and reads the answer into buf.resp.
func (l *leanSQS) post(ctx context.Context, action string, buf *leanBuf) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.endpoint, bytes.NewReader(buf.form))
	if err != nil {
		return err
	}
	auth, amzDate := l.authorization(buf.form, time.Now())
	req.Header = http.Header{
		"Content-Type":  {"application/x-www-form-urlencoded"},
		"X-Amz-Date":    {amzDate},
		"Authorization": {auth},
	}
	resp, err := l.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf.resp = buf.resp[:0]
	for {
		if len(buf.resp) == cap(buf.resp) {
			buf.resp = append(buf.resp, 0)[:len(buf.resp)]
		}
		n, err := resp.Body.Read(buf.resp[len(buf.resp):cap(buf.resp)])
		buf.resp = buf.resp[:len(buf.resp)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if resp.StatusCode >= 300 {
		b := buf.resp
		return fmt.Errorf("bench: %s: HTTP %d: %s", action, resp.StatusCode, bytes.TrimSpace(b[:min(len(b), 300)]))
	}
	return nil
}

func (l *leanSQS) get() *leanBuf {
	b := l.bufs.Get().(*leanBuf)
	b.form = b.form[:0]
	return b
}

func (l *leanSQS) createQueue(ctx context.Context, name string) (string, error) {
	buf := l.get()
	defer l.bufs.Put(buf)
	buf.form = append(l.begin(buf.form, "CreateQueue", ""), "&QueueName="...)
	buf.form = appendQueryEscape(buf.form, name)
	if err := l.post(ctx, "CreateQueue", buf); err != nil {
		return "", err
	}
	u, ok := xmlElem(buf.resp, "QueueUrl")
	if !ok {
		return "", fmt.Errorf("bench: CreateQueue: no QueueUrl in %q", buf.resp)
	}
	return u, nil
}

func (l *leanSQS) deleteQueue(ctx context.Context, u string) error {
	buf := l.get()
	defer l.bufs.Put(buf)
	buf.form = l.begin(buf.form, "DeleteQueue", u)
	return l.post(ctx, "DeleteQueue", buf)
}

func (l *leanSQS) send(ctx context.Context, u string, bodies []string) error {
	buf := l.get()
	defer l.bufs.Put(buf)
	if len(bodies) == 1 {
		buf.form = append(l.begin(buf.form, "SendMessage", u), "&MessageBody="...)
		buf.form = appendQueryEscape(buf.form, bodies[0])
		if err := l.post(ctx, "SendMessage", buf); err != nil {
			return err
		}
		if _, ok := xmlElem(buf.resp, "MessageId"); !ok {
			return fmt.Errorf("bench: SendMessage: no MessageId in %q", buf.resp)
		}
		return nil
	}
	buf.form = l.begin(buf.form, "SendMessageBatch", u)
	for i, b := range bodies {
		buf.form = append(buf.form, leanSendID[i+1]...)
		buf.form = append(buf.form, leanSendBody[i+1]...)
		buf.form = appendQueryEscape(buf.form, b)
	}
	if err := l.post(ctx, "SendMessageBatch", buf); err != nil {
		return err
	}
	return batchErr("SendMessageBatch", buf.resp, len(bodies))
}

// batchErr checks a batch answer: every entry succeeded.
func batchErr(action string, resp []byte, n int) error {
	if i := bytes.Index(resp, []byte("<BatchResultErrorEntry>")); i >= 0 {
		msg, _ := xmlElem(resp[i:], "Message")
		return fmt.Errorf("bench: %s: %d failed: %s", action,
			bytes.Count(resp, []byte("<BatchResultErrorEntry>")), msg)
	}
	if ok := bytes.Count(resp, []byte("ResultEntry>")) / 2; ok != n {
		return fmt.Errorf("bench: %s: %d of %d entries answered: %q", action, ok, n, resp[:min(len(resp), 300)])
	}
	return nil
}

func (l *leanSQS) receive(ctx context.Context, u string, max, wait int) ([]sqsMessage, error) {
	buf := l.get()
	defer l.bufs.Put(buf)
	buf.form = append(l.begin(buf.form, "ReceiveMessage", u), "&MaxNumberOfMessages="...)
	buf.form = strconv.AppendInt(buf.form, int64(max), 10)
	buf.form = append(buf.form, "&WaitTimeSeconds="...)
	buf.form = strconv.AppendInt(buf.form, int64(wait), 10)
	if err := l.post(ctx, "ReceiveMessage", buf); err != nil {
		return nil, err
	}
	var msgs []sqsMessage
	rest := buf.resp
	for {
		i := bytes.Index(rest, []byte("<Message>"))
		if i < 0 {
			break
		}
		rest = rest[i+len("<Message>"):]
		end := bytes.Index(rest, []byte("</Message>"))
		if end < 0 {
			return nil, fmt.Errorf("bench: ReceiveMessage: unterminated Message in %q", buf.resp)
		}
		m := rest[:end]
		rest = rest[end:]
		h, ok1 := xmlElem(m, "ReceiptHandle")
		b, ok2 := xmlElem(m, "Body")
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("bench: ReceiveMessage: a Message without ReceiptHandle or Body: %q", m)
		}
		msgs = append(msgs, sqsMessage{body: b, handle: h})
	}
	return msgs, nil
}

func (l *leanSQS) delete(ctx context.Context, u string, handles []string) error {
	buf := l.get()
	defer l.bufs.Put(buf)
	if len(handles) == 1 {
		buf.form = append(l.begin(buf.form, "DeleteMessage", u), "&ReceiptHandle="...)
		buf.form = appendQueryEscape(buf.form, handles[0])
		return l.post(ctx, "DeleteMessage", buf)
	}
	buf.form = l.begin(buf.form, "DeleteMessageBatch", u)
	for i, h := range handles {
		buf.form = append(buf.form, leanDelID[i+1]...)
		buf.form = append(buf.form, leanDelHandle[i+1]...)
		buf.form = appendQueryEscape(buf.form, h)
	}
	if err := l.post(ctx, "DeleteMessageBatch", buf); err != nil {
		return err
	}
	return batchErr("DeleteMessageBatch", buf.resp, len(handles))
}

// xmlElem returns the text of the first <name>…</name> in b, unescaped
// (an element with attributes or children is not looked for: SQS's
// answers have neither on these).
func xmlElem(b []byte, name string) (string, bool) {
	open := "<" + name + ">"
	i := bytes.Index(b, []byte(open))
	if i < 0 {
		return "", false
	}
	b = b[i+len(open):]
	j := bytes.Index(b, []byte("</"+name+">"))
	if j < 0 {
		return "", false
	}
	v := b[:j]
	if bytes.IndexByte(v, '&') < 0 {
		return string(v), true
	}
	return html.UnescapeString(string(v)), true
}
