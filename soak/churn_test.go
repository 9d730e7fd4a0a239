package soak_test

import (
	"context"
	"net"
	"net/http"
	"time"
)

// churn opens connections on every face and drops them abruptly, twice
// a second, until ctx ends: an AMQP connection cut after its protocol
// header, an MQTT one after a CONNECT, an HTTP request to the AWS
// gateway cut halfway, and a management API call.
func churn(ctx context.Context, b *soakBroker) {
	connect := []byte{0x10, 0x16, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 30, 0, 10, 's', 'o', 'a', 'k', '-', 'c', 'h', 'u', 'r', 'n'}
	cut := func(addr string, data []byte) {
		nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return
		}
		_, _ = nc.Write(data)
		_ = nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = nc.Read(make([]byte, 512))
		_ = nc.Close()
	}
	mgmt := &http.Client{Timeout: 10 * time.Second}
	for ctx.Err() == nil {
		cut(b.amqp, []byte("AMQP\x00\x00\x09\x01"))
		cut(b.mqtt, connect)
		cut(b.aws, []byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nAction=Li"))
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.mgmt+"/api/overview", nil)
		req.SetBasicAuth("guest", "guest")
		if resp, err := mgmt.Do(req); err == nil {
			resp.Body.Close()
		}
		sleepCtx(ctx, 500*time.Millisecond)
	}
}
