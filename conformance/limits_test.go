package conformance_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The limits on what a client holds, set by flags of the real binary,
// answered as RabbitMQ (or AWS, or net/http) answers.

// rmqErr requires err to be an AMQP error with code and reason.
func rmqErr(t *testing.T, err error, code int, reason string) {
	t.Helper()
	var e *rmq.Error
	require.True(t, errors.As(err, &e), "got %v (%T), want an AMQP error", err, err)
	assert.Equal(t, code, e.Code)
	assert.Equal(t, reason, e.Reason)
}

func TestLimitsAMQP(t *testing.T) {
	c := startChild(t, "amqp", "--amqp-connection-max", "2", "--amqp-consumer-max-per-channel", "1",
		"--max-queues-per-vhost", "2")
	url := "amqp://guest:guest@" + c.addr + "/"
	conn, err := rmq.Dial(url)
	require.NoError(t, err)
	defer conn.Close()
	other, err := rmq.Dial(url)
	require.NoError(t, err)
	_, err = rmq.Dial(url)
	rmqErr(t, err, 530, "NOT_ALLOWED - connection refused: node connection limit (2) is reached")
	require.NoError(t, other.Close())

	ch, err := conn.Channel()
	require.NoError(t, err)
	for _, q := range []string{"l1", "l2"} {
		_, err = ch.QueueDeclare(q, false, false, false, false, nil)
		require.NoError(t, err)
	}
	_, err = ch.QueueDeclare("l3", false, false, false, false, nil)
	rmqErr(t, err, 406, "PRECONDITION_FAILED - cannot declare queue 'l3': queue limit in vhost '/' (2) is reached")

	ch, err = conn.Channel()
	require.NoError(t, err)
	_, err = ch.Consume("l1", "c1", true, false, false, false, nil)
	require.NoError(t, err)
	closed := conn.NotifyClose(make(chan *rmq.Error, 1))
	_, err = ch.Consume("l2", "c2", true, false, false, false, nil)
	if err == nil {
		select {
		case e := <-closed:
			err = e
		case <-time.After(30 * time.Second):
		}
	}
	rmqErr(t, err, 530, "NOT_ALLOWED - reached maximum (1) of consumers per channel")
}

func TestLimitsAMQPPerUser(t *testing.T) {
	c := startChild(t, "amqp", "--amqp-connection-max-per-user", "1")
	url := "amqp://guest:guest@" + c.addr + "/"
	conn, err := rmq.Dial(url)
	require.NoError(t, err)
	defer conn.Close()
	_, err = rmq.Dial(url)
	rmqErr(t, err, 530, "NOT_ALLOWED - connection refused for user 'guest': user connection limit (1) is reached")
}

// hangsUp requires the server to end nc within the test's patience.
func hangsUp(t *testing.T, nc net.Conn) string {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(nc)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("want the server to end the connection, got %v", err)
	}
	return string(got)
}

func TestLimitsAMQPHandshakeTimeout(t *testing.T) {
	c := startChild(t, "amqp", "--handshake-timeout", "500ms")
	nc, err := net.Dial("tcp", c.addr)
	require.NoError(t, err)
	defer nc.Close()
	nc.Write([]byte("AMQP")) // and no more
	assert.Empty(t, hangsUp(t, nc))
}

func TestLimitsMQTTConnectTimeout(t *testing.T) {
	c := startChild(t, "mqtt", "--handshake-timeout", "500ms")
	nc, err := net.Dial("tcp", c.addr)
	require.NoError(t, err)
	defer nc.Close()
	assert.Empty(t, hangsUp(t, nc))
}

// httpStatus sends a raw request and returns the answer's status code.
func httpStatus(t *testing.T, addr, req string) (int, http.Header) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	go nc.Write([]byte(req))
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func TestLimitsHTTP(t *testing.T) {
	big := "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 16<<10) + "\r\n\r\n"
	for _, listener := range []string{"aws", "mgmt", "metrics", "mqtt-ws"} {
		t.Run(listener, func(t *testing.T) {
			c := startChild(t, listener, "--http-max-header-size", "4KiB", "--http-read-timeout", "500ms")
			code, _ := httpStatus(t, c.addr, big)
			assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, code)
			// Slowloris: headers that never end are cut off.
			nc, err := net.Dial("tcp", c.addr)
			require.NoError(t, err)
			defer nc.Close()
			go func() {
				nc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
				for {
					if _, err := nc.Write([]byte("X")); err != nil {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()
			hangsUp(t, nc)
		})
	}
}

func TestLimitsAWS(t *testing.T) {
	c := startChild(t, "aws", "--aws-max-connections", "1", "--aws-max-body-size", "1KiB", "--aws-accept-any-key")
	body := `{"QueueName":"` + strings.Repeat("q", 2000) + `"}`
	req := "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AmazonSQS.CreateQueue\r\n" +
		"Content-Type: application/x-amz-json-1.0\r\nConnection: close\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
	// (The place may still be held by startChild's probe for a moment.)
	require.Eventually(t, func() bool {
		code, _ := httpStatus(t, c.addr, req)
		return code == http.StatusRequestEntityTooLarge
	}, 30*time.Second, 20*time.Millisecond)

	held, err := net.Dial("tcp", c.addr)
	require.NoError(t, err)
	defer held.Close()
	require.Eventually(t, func() bool {
		code, h := httpStatus(t, c.addr, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		return code == http.StatusServiceUnavailable && h.Get("X-Amzn-ErrorType") == "ServiceUnavailable"
	}, 30*time.Second, 20*time.Millisecond)
	held.Close()
	require.Eventually(t, func() bool {
		code, _ := httpStatus(t, c.addr, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		return code == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond)
}

func TestLimitsSQSQueues(t *testing.T) {
	c := startChild(t, "aws", "--max-queues-per-vhost", "1", "--aws-accept-any-key")
	create := func(name string) (int, string) {
		body := `{"QueueName":"` + name + `"}`
		nc, err := net.Dial("tcp", c.addr)
		require.NoError(t, err)
		defer nc.Close()
		go nc.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AmazonSQS.CreateQueue\r\n" +
			"Content-Type: application/x-amz-json-1.0\r\nConnection: close\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n" + body))
		nc.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, _ := create("first")
	require.Equal(t, http.StatusOK, code)
	code, body := create("second")
	assert.Equal(t, http.StatusForbidden, code)
	assert.Contains(t, body, "OverLimit")
	assert.Contains(t, body, "cannot declare queue 'second': queue limit in vhost '/' (1) is reached")
}
