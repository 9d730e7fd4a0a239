package awsgw

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/httplimit"
	"github.com/junctionmq/junction/internal/leakcheck"
)

// sqsBystander sends, receives and deletes SQS messages in a loop while
// hostile clients work on the same gateway.
type sqsBystander struct {
	rounds atomic.Int64
	err    atomic.Value
	stop   chan struct{}
	done   chan struct{}
}

func startSQSBystander(t *testing.T, c *sqs.Client) *sqsBystander {
	t.Helper()
	q, err := c.CreateQueue(ctx(), &sqs.CreateQueueInput{QueueName: aws.String("bystander")})
	require.NoError(t, err)
	by := &sqsBystander{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(by.done)
		for {
			select {
			case <-by.stop:
				return
			default:
			}
			if err := by.round(c, q.QueueUrl); err != nil {
				by.err.CompareAndSwap(nil, err)
				return
			}
		}
	}()
	return by
}

func (by *sqsBystander) round(c *sqs.Client, url *string) error {
	if _, err := c.SendMessage(ctx(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("hi")}); err != nil {
		return err
	}
	out, err := c.ReceiveMessage(ctx(), &sqs.ReceiveMessageInput{QueueUrl: url, WaitTimeSeconds: 5})
	if err != nil {
		return err
	}
	if len(out.Messages) != 1 {
		return errors.New("message not received")
	}
	if _, err := c.DeleteMessage(ctx(), &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
		return err
	}
	by.rounds.Add(1)
	return nil
}

func (by *sqsBystander) check(t *testing.T) {
	t.Helper()
	start := by.rounds.Load()
	require.Eventually(t, func() bool { return by.rounds.Load() >= start+3 || by.err.Load() != nil },
		30*time.Second, 10*time.Millisecond)
	close(by.stop)
	<-by.done
	if err, _ := by.err.Load().(error); err != nil {
		t.Fatalf("the well-behaved client failed: %v", err)
	}
	t.Logf("well-behaved client: %d round trips", by.rounds.Load())
}

// rawHTTP sends req as is on a new connection and reads the response.
func rawHTTP(t *testing.T, addr, req string) (*http.Response, string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	go nc.Write([]byte(req)) // the server may answer before reading it all
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// sqsRequest is an SQS JSON request with the given body.
func sqsRequest(target, body string) string {
	return "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: AmazonSQS." + target +
		"\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: " + strconv.Itoa(len(body)) +
		"\r\nConnection: close\r\n\r\n" + body
}

// formRequest is an SQS Query ListQueues with more parameters.
func formRequest(more string) string {
	body := "Action=ListQueues&Version=2012-11-05" + more
	return "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body
}

// wantHangUp requires the server to end the connection (without an answer
// or after one).
func wantHangUp(t *testing.T, nc net.Conn) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := io.Copy(io.Discard, nc)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("want the server to end the connection, got %v", err)
	}
}

// TestHostileHTTPClients sends malformed, oversized and slow requests to
// the gateway: each gets its answer (or is cut off), an SQS client on the
// same gateway keeps working, and nothing is left behind.
func TestHostileHTTPClients(t *testing.T) {
	e := newEnv(t, Config{AcceptAnyKey: true, MaxBodyBytes: 64 << 10,
		HTTP: httplimit.Limits{MaxHeaderBytes: 8 << 10, ReadTimeout: 500 * time.Millisecond}})
	addr := strings.TrimPrefix(e.url, "http://")
	by := startSQSBystander(t, e.client(t, "test", "test"))
	require.Eventually(t, func() bool { return by.rounds.Load() > 0 }, 30*time.Second, 10*time.Millisecond)
	base := leakcheck.Take()

	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"oversized body", func(t *testing.T) {
			resp, body := rawHTTP(t, addr, sqsRequest("ListQueues", `{"QueueNamePrefix":"`+strings.Repeat("a", 100<<10)+`"}`))
			assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
			assert.Contains(t, body, "RequestEntityTooLarge")
		}},
		{"oversized headers", func(t *testing.T) {
			resp, _ := rawHTTP(t, addr, "GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: "+strings.Repeat("b", 20<<10)+"\r\n\r\n")
			assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
		}},
		{"not HTTP", func(t *testing.T) {
			resp, _ := rawHTTP(t, addr, "AMQP\x00\x00\x09\x01\r\n\r\n")
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		}},
		{"deeply nested JSON", func(t *testing.T) {
			resp, _ := rawHTTP(t, addr, sqsRequest("ListQueues", strings.Repeat("[", 30000)+strings.Repeat("]", 30000)))
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		}},
		{"form with 10,001 parameters", func(t *testing.T) {
			// net/url refuses more than 10,000 (Go's urlmaxqueryparams).
			resp, body := rawHTTP(t, addr, formRequest(strings.Repeat("&a=x", 10001)))
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, body, "SerializationException")
		}},
		{"form key nested 10,000 deep", func(t *testing.T) {
			// Refused at once: formTree's time grows with the square of
			// the depth (before: 0.3 s 5,000 deep, 0.9 s 20,000, 6 s
			// 80,000).
			resp, body := rawHTTP(t, addr, formRequest("&"+strings.Repeat("a.1.", 10000)+"b=x"))
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, body, "nested deeper than 16 levels")
		}},
		{"unknown operation", func(t *testing.T) {
			resp, _ := rawHTTP(t, addr, sqsRequest("Explode", `{}`))
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		}},
		{"slowloris headers", func(t *testing.T) {
			// Headers one byte at a time, never finished: cut off after
			// the read timeout although bytes keep coming.
			nc, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer nc.Close()
			go func() {
				nc.Write([]byte("POST / HTTP/1.1\r\nHost: localhost\r\n"))
				for {
					if _, err := nc.Write([]byte("X")); err != nil {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()
			wantHangUp(t, nc)
		}},
		{"slow body", func(t *testing.T) {
			nc, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer nc.Close()
			head := strings.TrimSuffix(sqsRequest("ListQueues", strings.Repeat(" ", 1000)), strings.Repeat(" ", 1000))
			go func() {
				nc.Write([]byte(head))
				for {
					if _, err := nc.Write([]byte(" ")); err != nil {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()
			nc.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			require.NoError(t, err)
			assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
			body, _ := io.ReadAll(resp.Body)
			assert.Contains(t, string(body), "RequestTimeout")
		}},
		{"connection that never sends", func(t *testing.T) {
			nc, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer nc.Close()
			wantHangUp(t, nc)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
	by.check(t)
	// The SDK client's idle keep-alive connections were there at the
	// baseline too.
	base.Settle(t, 6, 4<<20)
}

// TestMaxConnections checks the gateway's connection limit: a connection
// past it is answered 503 ServiceUnavailable, and a closed one frees its
// place.
func TestMaxConnections(t *testing.T) {
	e := newEnv(t, Config{AcceptAnyKey: true, MaxConnections: 2})
	addr := strings.TrimPrefix(e.url, "http://")
	held := make([]net.Conn, 2)
	for i := range held {
		nc, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer nc.Close()
		held[i] = nc
	}
	// The held connections are accepted (a request on them is answered).
	_, err := held[0].Write([]byte("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"))
	require.NoError(t, err)
	r0 := bufio.NewReader(held[0])
	resp, err := http.ReadResponse(r0, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, resp.Body.Close())

	// Both places are taken: the third is refused. (The listener counts
	// accepted connections, so poll until the second is accepted too.)
	require.Eventually(t, func() bool {
		resp, _ := rawHTTP(t, addr, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
		return resp.StatusCode == http.StatusServiceUnavailable &&
			resp.Header.Get("X-Amzn-ErrorType") == "ServiceUnavailable"
	}, 30*time.Second, 20*time.Millisecond)

	held[1].Close()
	require.Eventually(t, func() bool {
		resp, _ := rawHTTP(t, addr, "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond)
}
