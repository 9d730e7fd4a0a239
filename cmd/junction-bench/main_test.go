package main

import (
	"strings"
	"testing"
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
