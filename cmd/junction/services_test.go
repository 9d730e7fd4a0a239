package main

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestStartServices(t *testing.T) {
	served, held := listen(t), listen(t)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok"))
	})}
	stop := startServices(context.Background(), services{"mgmt": srv, "absent": &http.Server{}},
		map[string]net.Listener{"mgmt": served, "amqp": held})
	resp, err := http.Get("http://" + served.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	for _, ln := range []net.Listener{served, held} {
		if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts after stop", ln.Addr())
		}
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}
