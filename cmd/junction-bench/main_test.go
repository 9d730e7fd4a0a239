package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		stdin   string
		wantOut string
		wantErr string
	}{
		{"summarize", []string{"summarize"},
			`{"broker":"junction","scenario":"s","kind":"amqp","client":"native","deliver_rate":200}` + "\n" +
				`{"broker":"rabbitmq","scenario":"s","kind":"amqp","client":"native","deliver_rate":100}`,
			"2.00×", ""},
		{"unknown command", []string{"nope"}, "", "", `unknown command "nope"`},
		{"idle without pid", []string{"idle", "--conns", "1"}, "", "", "broker-pid"},
		{"bad kinesis client", []string{"kinesis", "--client", "x", "--uri", "http://127.0.0.1:1"}, "", `"error":"bench: unknown client`, "unknown client"},
		{"bad client", []string{"amqp", "--client", "x", "--uri", "amqp://127.0.0.1:1/"}, "", `"error":"bench: unknown client`, "unknown client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			err := run(t.Context(), tt.args, strings.NewReader(tt.stdin), &out, &errOut)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output %q lacks %q", out.String(), tt.wantOut)
			}
		})
	}
}

// TestNullAMQP serves null-amqp and runs the amqp command with amqp091-go
// against it: messages are delivered, and null-amqp stops cleanly.
func TestNullAMQP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- run(ctx, []string{"null-amqp", "--listen", addr}, nil, io.Discard, io.Discard) }()
	var out strings.Builder
	for i := 0; ; i++ { // until the listener is up
		out.Reset()
		err = run(t.Context(), []string{"amqp", "--client", "amqp091", "--autoack", "--uri", "amqp://guest:guest@" + addr + "/",
			"--broker", "null", "--duration", "1s", "--warmup", "100ms"}, nil, &out, io.Discard)
		if err == nil || i == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Broker    string `json:"broker"`
		Delivered int64  `json:"delivered"`
	}
	if err := json.Unmarshal([]byte(out.String()), &r); err != nil {
		t.Fatalf("%v: %q", err, out.String())
	}
	if r.Broker != "null" || r.Delivered == 0 {
		t.Errorf("broker %q delivered %d", r.Broker, r.Delivered)
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("null-amqp: %v", err)
	}
}
