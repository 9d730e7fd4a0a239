package awsgw

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// sqsHandlerCall runs one Query request through the gateway's handler (no
// network) and returns the answer.
func sqsHandlerCall(tb testing.TB, srv *Server, form string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:4566/", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		tb.Fatalf("%s: HTTP %d: %s", form[:min(len(form), 60)], w.Code, w.Body.String())
	}
	return w
}

// BenchmarkSQSQueryCycle is one SendMessageBatch of 10 → ReceiveMessage
// of 10 → DeleteMessageBatch through the handler, over Query with an
// in-memory store: the gateway's own cost per cycle (allocs/op is the
// steady figure on a shared machine).
func BenchmarkSQSQueryCycle(b *testing.B) {
	e := newEnv(b, Config{AcceptAnyKey: true})
	w := sqsHandlerCall(b, e.srv, "Action=CreateQueue&Version=2012-11-05&QueueName=bench")
	qurl := between(w.Body.String(), "<QueueUrl>", "</QueueUrl>")
	prefix := "Version=2012-11-05&QueueUrl=" + url.QueryEscape(qurl)
	var send strings.Builder
	send.WriteString("Action=SendMessageBatch&" + prefix)
	for i := 1; i <= 10; i++ {
		n := strconv.Itoa(i)
		send.WriteString("&SendMessageBatchRequestEntry." + n + ".Id=m" + n +
			"&SendMessageBatchRequestEntry." + n + ".MessageBody=1764201600000000000+" + strings.Repeat("x", 44)) // a space, as the bench client sends
	}
	recv := "Action=ReceiveMessage&" + prefix + "&MaxNumberOfMessages=10&WaitTimeSeconds=0"
	b.ReportAllocs()
	var del bytes.Buffer
	for b.Loop() {
		sqsHandlerCall(b, e.srv, send.String())
		body := sqsHandlerCall(b, e.srv, recv).Body.String()
		del.Reset()
		del.WriteString("Action=DeleteMessageBatch&" + prefix)
		for i := 1; ; i++ {
			h := between(body, "<ReceiptHandle>", "</ReceiptHandle>")
			if h == "" {
				break
			}
			body = body[strings.Index(body, "</ReceiptHandle>")+1:]
			n := strconv.Itoa(i)
			del.WriteString("&DeleteMessageBatchRequestEntry." + n + ".Id=d" + n +
				"&DeleteMessageBatchRequestEntry." + n + ".ReceiptHandle=" + url.QueryEscape(h))
		}
		sqsHandlerCall(b, e.srv, del.String())
	}
}

// between returns the text between the first open and the close after it.
func between(s, open, close string) string {
	i := strings.Index(s, open)
	if i < 0 {
		return ""
	}
	s = s[i+len(open):]
	j := strings.Index(s, close)
	if j < 0 {
		return ""
	}
	return s[:j]
}
