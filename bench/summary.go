package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// metric is a column Summarize reports: a name and how to read it.
type metric struct {
	name   string
	get    func(*Result) float64
	higher bool // higher is better
}

var (
	deliverRate = metric{"deliver msg/s", func(r *Result) float64 { return r.DeliverRate }, true}
	latencyP99  = metric{"p99 ms", func(r *Result) float64 { return r.LatencyP99Ms }, false}
	confirmP99  = metric{"confirm p99 ms", func(r *Result) float64 { return r.ConfirmP99Ms }, false}
	clientCPU   = metric{"client µs/msg", func(r *Result) float64 { return r.ClientCPUPerMsg }, false}
	brokerCPU   = metric{"broker µs/msg", func(r *Result) float64 { return r.BrokerCPUPerMsg }, false}
	rssAfter    = metric{"RSS MiB", func(r *Result) float64 { return r.RSSAfterMiB }, false}
	rssPerConn  = metric{"KiB/conn", func(r *Result) float64 { return r.RSSPerConnKiB }, false}
	lost        = metric{"lost", func(r *Result) float64 {
		if r.Lost == nil {
			return 0
		}
		return float64(*r.Lost)
	}, false}
	callP99     = metric{"call p99 ms", func(r *Result) float64 { return r.CallP99Ms }, false}
	opsRate     = metric{"cycles/s", func(r *Result) float64 { return r.OpsRate }, true}
	publishRate = metric{"in rec/s", func(r *Result) float64 { return r.PublishRate }, true}
	publishMiB  = metric{"in MiB/s", func(r *Result) float64 { return r.PublishMiBps }, true}
	getRate     = metric{"out rec/s", func(r *Result) float64 { return r.DeliverRate }, true}
	getMiB      = metric{"out MiB/s", func(r *Result) float64 { return r.DeliverMiBps }, true}
	// A paced run (--rate) splits latency into the producer's lateness and
	// transit; the columns show only where a run reports them.
	lateP50    = metric{"late p50 ms", func(r *Result) float64 { return r.LateP50Ms }, false}
	lateP99    = metric{"late p99 ms", func(r *Result) float64 { return r.LateP99Ms }, false}
	transitP50 = metric{"transit p50 ms", func(r *Result) float64 { return r.TransitP50Ms }, false}
	transitP99 = metric{"transit p99 ms", func(r *Result) float64 { return r.TransitP99Ms }, false}
)

// paced are the metrics of a paced run, shown after a kind's own.
var paced = []metric{lateP50, lateP99, transitP50, transitP99}

// primary returns the metric a result is ranked by: RSS (or RSS per
// connection) for idle runs, p99 latency at a fixed rate and for SQS long
// polls, records in for Kinesis, delivered throughput otherwise.
func primary(r *Result) metric {
	switch {
	case r.Kind == "idle" && r.Conns > 0:
		return rssPerConn
	case r.Kind == "idle":
		return rssAfter
	case settingFloat(r, "rate") > 0, settingBool(r, "longpoll"):
		return latencyP99
	case r.Kind == "kinesis":
		return publishRate
	case r.Kind == "churn":
		return opsRate
	}
	return deliverRate
}

// details returns the metrics shown for a result's kind (a metric whose
// runs all read 0 is left out, so the paced ones show only for paced runs).
func details(r *Result) []metric {
	var ms []metric
	switch r.Kind {
	case "idle":
		return []metric{rssAfter, rssPerConn}
	case "mqtt":
		ms = []metric{deliverRate, lost, latencyP99, clientCPU, brokerCPU}
	case "sqs":
		ms = []metric{deliverRate, latencyP99, callP99, clientCPU, brokerCPU}
	case "kinesis":
		ms = []metric{publishRate, publishMiB, getRate, getMiB, lost, latencyP99, callP99, clientCPU, brokerCPU}
	case "churn":
		ms = []metric{opsRate, callP99, clientCPU, brokerCPU}
	default:
		ms = []metric{deliverRate, latencyP99, confirmP99, clientCPU, brokerCPU}
	}
	return append(ms, paced...)
}

// settingBool reads a boolean setting of a decoded result.
func settingBool(r *Result, key string) bool {
	m, _ := r.Settings.(map[string]any)
	b, _ := m[key].(bool)
	return b
}

// settingFloat reads a numeric setting of a decoded result.
func settingFloat(r *Result, key string) float64 {
	m, _ := r.Settings.(map[string]any)
	f, _ := m[key].(float64)
	return f
}

// group is the runs of one scenario and client against one broker.
type group struct {
	scenario, client, broker string
	runs                     []*Result
	failed                   int
}

// ReadResults reads JSON lines of Results, skipping blank lines.
func ReadResults(in io.Reader) ([]*Result, error) {
	var out []*Result
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		b := strings.TrimSpace(sc.Text())
		if b == "" || !strings.HasPrefix(b, "{") {
			continue
		}
		var r Result
		if err := json.Unmarshal([]byte(b), &r); err != nil {
			return nil, fmt.Errorf("bench: line %d: %w", line, err)
		}
		out = append(out, &r)
	}
	return out, sc.Err()
}

// groupResults groups runs by scenario, client and broker, in first-seen
// order.
func groupResults(rs []*Result) []*group {
	var gs []*group
	for _, r := range rs {
		i := slices.IndexFunc(gs, func(g *group) bool {
			return g.scenario == r.Scenario && g.client == r.Client && g.broker == r.Broker
		})
		if i < 0 {
			gs = append(gs, &group{scenario: r.Scenario, client: r.Client, broker: r.Broker})
			i = len(gs) - 1
		}
		if r.Error != "" {
			gs[i].failed++
			continue
		}
		gs[i].runs = append(gs[i].runs, r)
	}
	return gs
}

// stat is a median with its range.
type stat struct{ med, lo, hi float64 }

func (g *group) stat(m metric) stat {
	var v []float64
	for _, r := range g.runs {
		v = append(v, m.get(r))
	}
	if len(v) == 0 {
		return stat{}
	}
	return stat{Median(v), slices.Min(v), slices.Max(v)}
}

// format prints a stat with a precision that suits its size.
func (s stat) String() string {
	return fmt.Sprintf("%s (%s–%s)", num(s.med), num(s.lo), num(s.hi))
}

func num(f float64) string {
	switch {
	case f == 0:
		return "0"
	case f >= 1000:
		return commas(int64(f + 0.5))
	case f >= 10:
		return fmt.Sprintf("%.1f", f)
	}
	return fmt.Sprintf("%.3g", f)
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Summarize reads JSON lines of Results from in and writes two tables: per
// scenario, client and broker the median (min–max) of each metric; then per
// scenario and client the ratio of Junction's median of the primary metric
// to each other broker's (Junction is recognized by "junction" in its
// label; any other label is an incumbent: rabbitmq, mosquitto, goaws,
// kinesalite; or null, the do-nothing broker whose rate is the client's
// ceiling, and null-durable, which only makes publishes durable).
func Summarize(in io.Reader, out io.Writer) error {
	rs, err := ReadResults(in)
	if err != nil {
		return err
	}
	gs := groupResults(rs)
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tclient\tbroker\truns\tmetrics: median (min–max)")
	for _, g := range gs {
		var parts []string
		if len(g.runs) > 0 {
			for _, m := range details(g.runs[0]) {
				if s := g.stat(m); s.hi != 0 || m.name == lost.name {
					parts = append(parts, m.name+" "+s.String())
				}
			}
		}
		runs := fmt.Sprint(len(g.runs))
		if g.failed > 0 {
			runs += fmt.Sprintf(" (+%d failed)", g.failed)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", g.scenario, g.client, g.broker, runs, strings.Join(parts, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeRatios(out, gs)
}

// writeRatios writes the Junction/incumbent table.
func writeRatios(out io.Writer, gs []*group) error {
	isJunction := func(g *group) bool { return strings.Contains(strings.ToLower(g.broker), "junction") }
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(out)
	fmt.Fprintln(tw, "scenario\tclient\tmetric\tjunction\tincumbent\t\tjunction/incumbent\t")
	for _, j := range gs {
		if !isJunction(j) || len(j.runs) == 0 {
			continue
		}
		for _, o := range gs {
			if isJunction(o) || len(o.runs) == 0 || o.scenario != j.scenario || o.client != j.client {
				continue
			}
			m := primary(j.runs[0])
			jm, om := j.stat(m).med, o.stat(m).med
			ratio := "-"
			if om != 0 {
				ratio = fmt.Sprintf("%.2f×", jm/om)
			}
			better := "higher is better"
			if !m.higher {
				better = "lower is better"
			}
			switch o.broker {
			case "null":
				better = "share of the client's ceiling: null does no broker work"
			case "null-durable":
				better = "share of a durable broker's ceiling: null-durable only logs, syncs and confirms"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t(%s)\n", j.scenario, j.client, m.name, num(jm), num(om), o.broker, ratio, better)
		}
	}
	return tw.Flush()
}
