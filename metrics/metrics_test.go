package metrics_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/junctionmq/junction/amqp"
	"github.com/junctionmq/junction/awsgw"
	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/metrics"
	"github.com/junctionmq/junction/persist"
)

// start runs a core over the in-memory store and the metrics server on
// 127.0.0.1:0, and returns the broker and the /metrics URL.
func start(t *testing.T) (*core.Broker, string) {
	t.Helper()
	b, st := openCore(t)
	_, url := serve(t, b, st)
	return b, url
}

// serve runs an AMQP server over b and the metrics server over b and st,
// each on 127.0.0.1:0, closes them, b and st at the end of t, and returns
// the AMQP URL and the /metrics URL.
func serve(t *testing.T, b *core.Broker, st *persist.DB) (string, string) {
	t.Helper()
	as := amqp.NewServer(amqp.NewCoreBroker(b), amqp.Config{})
	ms := metrics.New(metrics.Sources{Broker: b, AMQP: as, Store: st})
	aln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go as.Serve(aln)
	go ms.Serve(mln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ms.Shutdown(ctx)
		_ = as.Close(ctx)
		_ = b.Close()
		_ = st.Close()
	})
	return "amqp://guest:guest@" + aln.Addr().String() + "/", "http://" + mln.Addr().String() + "/metrics"
}

// openCore opens a core over the in-memory store; the caller closes both.
func openCore(t *testing.T) (*core.Broker, *persist.DB) {
	t.Helper()
	st, err := persist.Open("", persist.Options{InMemory: true, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return openCoreOn(t, st), st
}

// openCoreOn opens a core over st; the caller closes it.
func openCoreOn(t *testing.T, st *persist.DB) *core.Broker {
	t.Helper()
	b, err := core.Open(core.Config{Store: st, Auth: auth.Options{KeyFile: t.TempDir() + "/auth.key"}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// scrape fetches and parses the metrics.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value returns the value of the family's metric with the labels, or -1.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

// TestQueueDepth: the depth gauges equal the queue's real depth.
func TestQueueDepth(t *testing.T) {
	b, url := start(t)
	v, _ := b.Vhost("/")
	q, _, err := v.DeclareQueue(core.QueueDecl{Name: "jobs", Durable: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 7 {
		if _, err := v.Publish(&message.Message{RoutingKey: "jobs", Body: []byte("x")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.Publish(&message.Message{RoutingKey: "nowhere", Body: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := q.Get(false); !ok {
		t.Fatal("no message")
	}
	st := q.Stats()
	fams := scrape(t, url)
	jobs := map[string]string{"vhost": "/", "queue": "jobs"}
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"junction_queue_messages_ready", jobs, float64(st.Ready)},
		{"junction_queue_messages_unacked", jobs, float64(st.Unacked)},
		{"junction_queue_consumers", jobs, 0},
		{"junction_messages_published_total", nil, 8},
		{"junction_messages_unroutable_total", nil, 1},
		{"junction_connections", map[string]string{"protocol": "amqp"}, 0},
		{"junction_store_batches_total", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := value(fams, tt.name, tt.labels)
			if tt.name == "junction_store_batches_total" {
				if got < 0 {
					t.Fatalf("%s missing", tt.name)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
			}
		})
	}
	if st.Ready != 6 {
		t.Fatalf("ready = %d, want 6", st.Ready)
	}
	for _, name := range []string{"go_goroutines", "process_open_fds"} {
		if fams[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
}

// Every durable publish is committed by the store writer: the commit
// latency histogram counts the batches, and the store's size is reported.
func TestStoreCommitLatency(t *testing.T) {
	b, url := start(t)
	v, _ := b.Vhost("/")
	if _, _, err := v.DeclareQueue(core.QueueDecl{Name: "durable", Durable: true}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		confirmed := make(chan bool, 1)
		m := &message.Message{RoutingKey: "durable", Body: []byte("x")}
		m.Props.Flags, m.Props.DeliveryMode = message.FlagDeliveryMode, 2
		if _, err := v.Publish(m, func(ack bool) { confirmed <- ack }); err != nil {
			t.Fatal(err)
		}
		if !<-confirmed {
			t.Fatal("publish nacked")
		}
	}
	fams := scrape(t, url)
	h := fams["junction_store_commit_seconds"]
	if h == nil || len(h.GetMetric()) != 1 || h.GetMetric()[0].GetHistogram() == nil {
		t.Fatalf("junction_store_commit_seconds missing or not a histogram: %v", h)
	}
	hist := h.GetMetric()[0].GetHistogram()
	if hist.GetSampleCount() == 0 || hist.GetSampleCount() > 5 {
		t.Fatalf("commit count = %d, want 1..5 (one per batch)", hist.GetSampleCount())
	}
	if n := len(hist.GetBucket()); n != len(persist.CommitBuckets)+1 { // and +Inf
		t.Fatalf("%d buckets, want %d", n, len(persist.CommitBuckets)+1)
	}
	if value(fams, "junction_store_size_bytes", nil) < 0 {
		t.Fatal("junction_store_size_bytes missing")
	}
}

// Published messages are counted per face they entered through; queue
// deliveries, acks and redeliveries are totals that keep a deleted
// queue's share.
func TestMessageTotals(t *testing.T) {
	b, url := start(t)
	v, _ := b.Vhost("/")
	q, _, err := v.DeclareQueue(core.QueueDecl{Name: "totals"})
	if err != nil {
		t.Fatal(err)
	}
	for i, face := range []message.Face{message.FaceMQTT, message.FaceMQTT, message.FaceMQTT, message.FaceAMQP, message.FaceSQS} {
		m := &message.Message{RoutingKey: "totals", Body: []byte{byte(i)}, Origin: face}
		if _, err := v.Publish(m, nil); err != nil {
			t.Fatal(err)
		}
	}
	d, ok := q.Get(false)
	if !ok {
		t.Fatal("no message")
	}
	if err := q.Nack(d.Seq, true); err != nil { // back to the queue: redelivered next
		t.Fatal(err)
	}
	for range 2 {
		d, ok := q.Get(false)
		if !ok {
			t.Fatal("no message")
		}
		if err := q.Ack(d.Seq); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := q.Get(true); !ok {
		t.Fatal("no message")
	}
	if _, err := v.DeleteQueue("totals", false, false, nil); err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, url)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"junction_face_messages_published_total", map[string]string{"face": "mqtt"}, 3},
		{"junction_face_messages_published_total", map[string]string{"face": "amqp"}, 1},
		{"junction_face_messages_published_total", map[string]string{"face": "sqs"}, 1},
		{"junction_face_messages_published_total", map[string]string{"face": "kinesis"}, 0},
		{"junction_messages_delivered_total", map[string]string{"ack": "manual"}, 3},
		{"junction_messages_delivered_total", map[string]string{"ack": "auto"}, 1},
		{"junction_messages_acked_total", nil, 2},
		{"junction_messages_redelivered_total", nil, 1},
	} {
		if got := value(fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// The AWS gateway's open HTTP connections are a face of the connection
// gauge.
func TestAWSConnections(t *testing.T) {
	b, st := openCore(t)
	gw, err := awsgw.New(b, awsgw.Config{AcceptAnyKey: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gw.Serve(gln)
	ms := metrics.New(metrics.Sources{Broker: b, AWS: gw, Store: st})
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ms.Serve(mln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ms.Shutdown(ctx)
		_ = gw.Shutdown(ctx)
		_ = b.Close()
		_ = st.Close()
	})
	url := "http://" + mln.Addr().String() + "/metrics"
	if got := value(scrape(t, url), "junction_connections", map[string]string{"protocol": "aws"}); got != 0 {
		t.Fatalf("aws connections = %v before any, want 0", got)
	}
	// Two open connections to the gateway (a request on each keeps it
	// alive), then none once they close.
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", gln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	deadline := time.Now().Add(30 * time.Second)
	for value(scrape(t, url), "junction_connections", map[string]string{"protocol": "aws"}) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("aws connections never reached 2")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range conns {
		c.Close()
	}
	for value(scrape(t, url), "junction_connections", map[string]string{"protocol": "aws"}) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("aws connections never went back to 0")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
