package bench

import (
	"encoding/json"
	"io"
)

// Result is one run's outcome, written as one JSON line. Rates are per
// second over the measured window (warm-up excluded); latencies are in
// milliseconds; CPU per message is in microseconds per delivered message.
type Result struct {
	Time     string `json:"time"`               // RFC 3339, when the run ended
	Broker   string `json:"broker"`             // label: "junction", "rabbitmq"
	Scenario string `json:"scenario"`           // label naming the scenario
	Kind     string `json:"kind"`               // "amqp", "mqtt", "sqs", "kinesis", "churn" or "idle"
	Client   string `json:"client,omitempty"`   // "native" or "amqp091"
	Error    string `json:"error,omitempty"`    // set when the run failed
	Host     string `json:"host,omitempty"`     // machine the run ran on
	CPUs     int    `json:"cpus,omitempty"`     // logical CPUs of that machine
	Version  string `json:"version,omitempty"`  // broker version, when known
	Note     string `json:"note,omitempty"`     // free text
	Settings any    `json:"settings,omitempty"` // the scenario's parameters

	DurationSec  float64 `json:"duration_s,omitempty"`
	Published    int64   `json:"published,omitempty"`
	Delivered    int64   `json:"delivered,omitempty"`
	Confirmed    int64   `json:"confirmed,omitempty"`
	PublishRate  float64 `json:"publish_rate,omitempty"`
	DeliverRate  float64 `json:"deliver_rate,omitempty"`
	LatencyP50Ms float64 `json:"latency_p50_ms,omitempty"`
	LatencyP99Ms float64 `json:"latency_p99_ms,omitempty"`
	LatencyMaxMs float64 `json:"latency_max_ms,omitempty"`
	// At a fixed rate (and bodies of 16 B or more), latency splits into
	// the producer's lateness (send less scheduled time) and transit
	// (receive less send time): a late producer is the harness's cost.
	LateP50Ms    float64 `json:"late_p50_ms,omitempty"`
	LateP99Ms    float64 `json:"late_p99_ms,omitempty"`
	TransitP50Ms float64 `json:"transit_p50_ms,omitempty"`
	TransitP99Ms float64 `json:"transit_p99_ms,omitempty"`
	ConfirmP50Ms float64 `json:"confirm_p50_ms,omitempty"`
	ConfirmP99Ms float64 `json:"confirm_p99_ms,omitempty"`
	OpsRate      float64 `json:"ops_s,omitempty"`       // churn: create-and-delete cycles per second
	CallP50Ms    float64 `json:"call_p50_ms,omitempty"` // SQS/Kinesis: one API call, request to response; churn: one cycle
	CallP99Ms    float64 `json:"call_p99_ms,omitempty"`
	PublishMiBps float64 `json:"publish_mib_s,omitempty"` // Kinesis: data bytes in
	DeliverMiBps float64 `json:"deliver_mib_s,omitempty"` // Kinesis: data bytes out
	Lost         *int64  `json:"lost,omitempty"`          // MQTT: accepted × subscribers − delivered
	Duplicates   int64   `json:"duplicates,omitempty"`    // MQTT: deliveries beyond that

	ClientCPUSec    float64 `json:"client_cpu_s,omitempty"`
	ClientCPUPerMsg float64 `json:"client_cpu_us_per_msg,omitempty"`
	BrokerCPUSec    float64 `json:"broker_cpu_s,omitempty"`
	BrokerCPUPerMsg float64 `json:"broker_cpu_us_per_msg,omitempty"`
	BrokerRSSMiB    float64 `json:"broker_rss_mib,omitempty"`
	BrokerHWMMiB    float64 `json:"broker_hwm_mib,omitempty"`

	Conns           int     `json:"conns,omitempty"`
	RSSBeforeMiB    float64 `json:"rss_before_mib,omitempty"`
	RSSAfterMiB     float64 `json:"rss_after_mib,omitempty"`
	RSSPerConnKiB   float64 `json:"rss_per_conn_kib,omitempty"`
	ConnectSec      float64 `json:"connect_s,omitempty"`
	ConnectFailures int     `json:"connect_failures,omitempty"`
}

// WriteJSON writes r as one JSON line.
func (r *Result) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
