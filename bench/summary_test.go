package bench

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSummarize(t *testing.T) {
	in := strings.Join([]string{
		`{"broker":"junction","scenario":"autoack","kind":"amqp","client":"native","deliver_rate":300000,"latency_p99_ms":2}`,
		`{"broker":"rabbitmq","scenario":"autoack","kind":"amqp","client":"native","deliver_rate":50000}`,
		`{"broker":"junction","scenario":"autoack","kind":"amqp","client":"native","deliver_rate":200000,"latency_p99_ms":4}`,
		`{"broker":"rabbitmq","scenario":"autoack","kind":"amqp","client":"native","deliver_rate":40000}`,
		`{"broker":"junction","scenario":"autoack","kind":"amqp","client":"native","deliver_rate":100000,"latency_p99_ms":3}`,
		`{"broker":"rabbitmq","scenario":"autoack","kind":"amqp","client":"native","error":"refused"}`,
		``,
		`{"broker":"junction","scenario":"rate","kind":"amqp","client":"native","settings":{"rate":1000},"latency_p99_ms":0.5}`,
		`{"broker":"rabbitmq","scenario":"rate","kind":"amqp","client":"native","settings":{"rate":1000},"latency_p99_ms":2}`,
		`{"broker":"junction","scenario":"idle","kind":"idle","rss_after_mib":20,"rss_per_conn_kib":10}`,
	}, "\n")
	var out strings.Builder
	if err := Summarize(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"deliver msg/s 200,000 (100,000–300,000)",
		"p99 ms 3 (2–4)",
		"2 (+1 failed)",
		"deliver msg/s 45,000 (40,000–50,000)",
		"4.44×",
		"0.25×",
		"lower is better",
		"RSS MiB 20.0 (20.0–20.0)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}

func TestParseQueueArgs(t *testing.T) {
	args, err := ParseQueueArgs("x-queue-type=quorum, x-max-length=1000,x-single-active-consumer=true")
	if err != nil {
		t.Fatal(err)
	}
	if len(args) != 3 || args[0].Value != "quorum" || args[1].Value != int64(1000) || args[2].Value != true {
		t.Fatalf("got %#v", args)
	}
	if _, err := ParseQueueArgs("novalue"); err == nil {
		t.Fatal("want an error for an argument without =")
	}
}

func TestParseURI(t *testing.T) {
	tests := []struct {
		uri  string
		want Endpoint
	}{
		{"amqp://localhost", Endpoint{"localhost:5672", "guest", "guest", "/"}},
		{"amqp://u:p@127.0.0.1:25672/", Endpoint{"127.0.0.1:25672", "u", "p", "/"}},
		{"amqp://u:p@h:1/%2f", Endpoint{"h:1", "u", "p", "/"}},
		{"amqp://h:1/prod", Endpoint{"h:1", "guest", "guest", "prod"}},
	}
	for _, tt := range tests {
		got, err := ParseURI(tt.uri)
		if err != nil || got != tt.want {
			t.Errorf("ParseURI(%q) = %+v, %v; want %+v", tt.uri, got, err, tt.want)
		}
	}
}

func TestSummarizePaced(t *testing.T) {
	in := strings.Join([]string{
		`{"broker":"junction","scenario":"rate","kind":"amqp","client":"native","settings":{"rate":1000},"latency_p99_ms":0.5,"late_p50_ms":0.01,"late_p99_ms":0.2,"transit_p50_ms":0.1,"transit_p99_ms":0.3}`,
		`{"broker":"junction","scenario":"rate","kind":"amqp","client":"native","settings":{"rate":1000},"latency_p99_ms":0.7,"late_p50_ms":0.03,"late_p99_ms":0.4,"transit_p50_ms":0.2,"transit_p99_ms":0.5}`,
		`{"broker":"junction","scenario":"mqttrate","kind":"mqtt","client":"paho","settings":{"rate":500},"latency_p99_ms":1,"late_p99_ms":12,"transit_p99_ms":2}`,
		`{"broker":"junction","scenario":"autoack","kind":"amqp","client":"native","deliver_rate":100000}`,
	}, "\n")
	var out strings.Builder
	require.NoError(t, Summarize(strings.NewReader(in), &out))
	got := out.String()
	for _, want := range []string{
		"late p50 ms 0.02 (0.01–0.03)",
		"late p99 ms 0.3 (0.2–0.4)",
		"transit p50 ms 0.15 (0.1–0.2)",
		"transit p99 ms 0.4 (0.3–0.5)",
		"late p99 ms 12.0 (12.0–12.0)",
		"transit p99 ms 2 (2–2)",
	} {
		assert.Contains(t, got, want)
	}
	// A run that is not paced shows no paced columns.
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "autoack") {
			assert.NotContains(t, line, "late")
			assert.NotContains(t, line, "transit")
		}
	}
}
