// Command junction-bench measures Junction and the incumbents (RabbitMQ
// over AMQP, Mosquitto over MQTT, goaws over SQS, kinesalite over Kinesis)
// in the spirit of RabbitMQ's PerfTest: throughput, end-to-end and confirm
// latency, client and broker CPU per message, and the memory of idle
// connections. Each run writes one JSON line to stdout; summarize turns
// many lines into medians and Junction/incumbent ratios.
//
// Usage:
//
//	junction-bench amqp [flags]        one AMQP throughput run
//	junction-bench mqtt [flags]        one MQTT throughput run
//	junction-bench sqs [flags]         one SQS run
//	junction-bench kinesis [flags]     one Kinesis run
//	junction-bench churn [flags]       AMQP connection, channel, queue or binding churn
//	junction-bench idle [flags]        broker RSS before and after N idle connections
//	junction-bench null-amqp [flags]   serve AMQP doing no broker work: the client's ceiling
//	junction-bench summarize < runs.jsonl
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/junctionmq/junction/bench"
)

const usage = `usage: junction-bench <command> [flags]

commands:
  amqp        AMQP throughput and latency run (one JSON line)
  mqtt        MQTT throughput, latency and losses with paho (one JSON line)
  sqs         SQS send/receive/delete throughput, or long-poll wake-up latency (one JSON line)
  kinesis     Kinesis PutRecords/GetRecords throughput (one JSON line)
  churn       AMQP connection, channel, queue or binding create/delete cycles per second (one JSON line)
  idle        broker RSS before and after N idle AMQP or MQTT connections (one JSON line)
  null-amqp   serve AMQP with no broker work (no routing, window or storage) until
              interrupted: run the amqp command against it for the client's ceiling
  summarize   read JSON lines on stdin, print medians (min–max) and ratios

run "junction-bench <command> -h" for a command's flags.
`

// profileEnv names the environment variable that, when set to a file
// name, has the command write a CPU profile of the whole client process
// there: where the load client itself spends its time.
const profileEnv = "JUNCTION_BENCH_CPUPROFILE"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	endProfile := startProfile(os.Getenv(profileEnv))
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	endProfile()
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "junction-bench:", err)
		os.Exit(1)
	}
}

// startProfile starts a CPU profile into file (none when it is empty) and
// returns what ends it.
func startProfile(file string) func() {
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "junction-bench: cpu profile:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// run dispatches a command line.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "amqp":
		return runAMQP(ctx, args[1:], stdout, stderr)
	case "idle":
		return runIdle(ctx, args[1:], stdout, stderr)
	case "mqtt":
		return runMQTT(ctx, args[1:], stdout, stderr)
	case "sqs":
		return runSQS(ctx, args[1:], stdout, stderr)
	case "kinesis":
		return runKinesis(ctx, args[1:], stdout, stderr)
	case "churn":
		return runChurn(ctx, args[1:], stdout, stderr)
	case "null-amqp":
		return runNullAMQP(ctx, args[1:], stderr)
	case "summarize":
		return bench.Summarize(stdin, stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// common are the flags every measuring command has.
type common struct {
	uri, broker, scenario string
	pid                   int
	pidFile               string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.uri, "uri", "amqp://guest:guest@127.0.0.1:5672/", "broker URI (amqp://…, tcp://… for MQTT, http://… for the AWS APIs)")
	fs.StringVar(&c.broker, "broker", "", "broker label in the output (junction, rabbitmq)")
	fs.StringVar(&c.scenario, "scenario", "", "scenario label in the output (default: derived from the flags)")
	fs.IntVar(&c.pid, "broker-pid", 0, "broker process id: report its CPU time and RSS from /proc")
	fs.StringVar(&c.pidFile, "broker-pid-file", "", "file holding the broker's process id (instead of --broker-pid)")
}

// brokerPID resolves --broker-pid or --broker-pid-file.
func (c *common) brokerPID() (int, error) {
	if c.pidFile == "" {
		return c.pid, nil
	}
	b, err := os.ReadFile(c.pidFile)
	if err != nil {
		return 0, err
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		return 0, fmt.Errorf("%s: %w", c.pidFile, err)
	}
	return pid, nil
}

// window registers the measured window's flags, --duration and --warmup.
func window(fs *flag.FlagSet, duration, warmup *time.Duration) {
	fs.DurationVar(duration, "duration", 10*time.Second, "measured time")
	fs.DurationVar(warmup, "warmup", 2*time.Second, "unmeasured time before it")
}

// parse parses a command's flags and returns the broker's pid (0 when
// none was given).
func (c *common) parse(fs *flag.FlagSet, args []string) (int, error) {
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	return c.brokerPID()
}

// emit writes r, or on failure a JSON line with the error, and returns err.
func emit(stdout io.Writer, r *bench.Result, err error, c *common, kind, client string) error {
	if err != nil {
		r = &bench.Result{Time: time.Now().UTC().Format(time.RFC3339), Broker: c.broker,
			Scenario: c.scenario, Kind: kind, Client: client, Error: err.Error()}
	}
	if werr := r.WriteJSON(stdout); werr != nil {
		return werr
	}
	return err
}

func runAMQP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	var cfg bench.AMQPConfig
	fs := flag.NewFlagSet("amqp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.register(fs)
	fs.StringVar(&cfg.Client, "client", bench.ClientNative, "load client: native (batching, built on protocol/amqp091) or amqp091 (github.com/rabbitmq/amqp091-go)")
	fs.IntVar(&cfg.Producers, "producers", 1, "producer connections")
	fs.IntVar(&cfg.Consumers, "consumers", 1, "consumer connections")
	fs.IntVar(&cfg.Size, "size", 16, "body size in bytes (at least 8: the send time)")
	fs.BoolVar(&cfg.AutoAck, "autoack", false, "consume with no-ack")
	fs.IntVar(&cfg.AckEvery, "ack-every", 1, "acknowledge every N messages (multiple=true when N > 1)")
	fs.IntVar(&cfg.Prefetch, "prefetch", 0, "basic.qos prefetch count per consumer (0: unlimited)")
	fs.BoolVar(&cfg.Persistent, "persistent", false, "persistent messages to durable queues")
	fs.IntVar(&cfg.Confirm, "confirm", 0, "publisher confirms with this many unconfirmed messages at most (0: off)")
	fs.IntVar(&cfg.Tx, "tx", 0, "publish in transactions of this many messages, each committed with tx.commit (amqp091 client; 0: off)")
	fs.StringVar(&cfg.QueueArgs, "queue-args", "", "queue arguments, k=v,k=v (x-queue-type=quorum,x-max-length=1000)")
	fs.IntVar(&cfg.Queues, "fanout", 1, "queues; above 1, producers publish to a fanout exchange bound to them all")
	fs.Float64Var(&cfg.Rate, "rate", 0, "fixed total publish rate in msg/s (0: as fast as possible); latency is then measured from each message's scheduled time")
	window(fs, &cfg.Duration, &cfg.Warmup)
	pid, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	cfg.URI, cfg.BrokerPID, cfg.Broker, cfg.Scenario = c.uri, pid, c.broker, c.scenario
	r, err := bench.RunAMQP(ctx, cfg)
	return emit(stdout, r, err, &c, "amqp", cfg.Client)
}

func runIdle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	var cfg bench.IdleConfig
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.register(fs)
	fs.StringVar(&cfg.Proto, "proto", "amqp", "protocol of the connections: amqp or mqtt (then --uri tcp://user:pass@host:port)")
	fs.IntVar(&cfg.Conns, "conns", 1000, "idle connections to open (0: just read the RSS)")
	fs.IntVar(&cfg.Parallel, "parallel", 16, "concurrent dials")
	fs.BoolVar(&cfg.Channel, "channel", false, "open one channel on each connection")
	fs.DurationVar(&cfg.Settle, "settle", 3*time.Second, "wait before each RSS reading")
	fs.DurationVar(&cfg.Hold, "hold", 0, "keep the connections open this long after measuring")
	pid, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if pid == 0 {
		return errors.New("idle needs --broker-pid or --broker-pid-file")
	}
	cfg.URI, cfg.BrokerPID, cfg.Broker, cfg.Scenario = c.uri, pid, c.broker, c.scenario
	r, err := bench.RunIdle(ctx, cfg)
	return emit(stdout, r, err, &c, "idle", bench.ClientNative)
}

// runNullAMQP serves a bench.NullAMQP until ctx ends.
func runNullAMQP(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("null-amqp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:25698", "address to listen on")
	logFile := fs.String("durable", "", "log file: with confirms, append every publish to it and confirm only after an fdatasync covers it (group commit); the ceiling of a durable broker")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var b *bench.NullAMQP
	var err error
	if *logFile != "" {
		b, err = bench.ListenNullAMQPDurable(*listen, *logFile)
	} else {
		b, err = bench.ListenNullAMQP(*listen)
	}
	if err != nil {
		return err
	}
	<-ctx.Done()
	return b.Close()
}

func runMQTT(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	var cfg bench.MQTTConfig
	fs := flag.NewFlagSet("mqtt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.register(fs)
	fs.Lookup("uri").DefValue = "tcp://guest:guest@127.0.0.1:1883"
	fs.Lookup("uri").Value.Set("tcp://guest:guest@127.0.0.1:1883")
	fs.IntVar(&cfg.Publishers, "publishers", 1, "publisher connections")
	fs.IntVar(&cfg.Subscribers, "subscribers", 1, "subscriber connections; each receives every message")
	fs.IntVar(&cfg.QoS, "qos", 0, "QoS of publishes and subscriptions: 0, 1 or 2")
	fs.IntVar(&cfg.Size, "size", 16, "payload size in bytes (at least 12: send time and publisher)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "fixed total publish rate in msg/s (0: as fast as possible)")
	fs.IntVar(&cfg.InFlight, "inflight", 100, "unacknowledged publishes per publisher (QoS 0: unwritten)")
	window(fs, &cfg.Duration, &cfg.Warmup)
	fs.DurationVar(&cfg.Drain, "drain", 5*time.Second, "longest wait for stragglers before counting losses")
	pid, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	cfg.URI, cfg.BrokerPID, cfg.Broker, cfg.Scenario = c.uri, pid, c.broker, c.scenario
	r, err := bench.RunMQTT(ctx, cfg)
	return emit(stdout, r, err, &c, "mqtt", "paho")
}

func runSQS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	var cfg bench.SQSConfig
	fs := flag.NewFlagSet("sqs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.register(fs)
	fs.Lookup("uri").DefValue = "http://127.0.0.1:4566"
	fs.Lookup("uri").Value.Set("http://127.0.0.1:4566")
	fs.StringVar(&cfg.Protocol, "protocol", bench.SQSJSON, "wire protocol: json (aws-sdk-go-v2's sqs client) or query (SigV4-signed form posts)")
	fs.StringVar(&cfg.Client, "client", bench.SQSLean, "Query client: lean (hand-rolled forms, SigV4 and XML scanning) or std (the SDK's signer, url.Values, encoding/xml)")
	fs.IntVar(&cfg.Clients, "clients", 1, "concurrent clients, each looping send → receive → delete on one shared queue")
	fs.IntVar(&cfg.Batch, "batch", 1, "messages per call (1-10; above 1 SendMessageBatch and DeleteMessageBatch)")
	fs.IntVar(&cfg.Size, "size", 64, "body size in characters (at least 20: the send time)")
	fs.BoolVar(&cfg.LongPoll, "longpoll", false, "long-poll wake-up latency instead: one receiver waits 20 s, one sender sends")
	fs.StringVar(&cfg.Region, "region", "us-east-1", "region signed for")
	window(fs, &cfg.Duration, &cfg.Warmup)
	pid, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	cfg.Endpoint, cfg.BrokerPID, cfg.Broker, cfg.Scenario = c.uri, pid, c.broker, c.scenario
	r, err := bench.RunSQS(ctx, cfg)
	return emit(stdout, r, err, &c, "sqs", cfg.Protocol+"-"+cfg.Client)
}

func runChurn(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	var cfg bench.ChurnConfig
	fs := flag.NewFlagSet("churn", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.register(fs)
	fs.StringVar(&cfg.What, "what", bench.ChurnQueue, "what each cycle creates and deletes: connection, channel, queue (declare, delete) or binding (bind, unbind)")
	fs.IntVar(&cfg.Clients, "clients", 1, "concurrent workers, each on its own connection")
	window(fs, &cfg.Duration, &cfg.Warmup)
	pid, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	cfg.URI, cfg.BrokerPID, cfg.Broker, cfg.Scenario = c.uri, pid, c.broker, c.scenario
	r, err := bench.RunChurn(ctx, cfg)
	return emit(stdout, r, err, &c, "churn", bench.ClientAMQP091)
}

func runKinesis(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	var cfg bench.KinesisConfig
	fs := flag.NewFlagSet("kinesis", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.register(fs)
	fs.Lookup("uri").DefValue = "http://127.0.0.1:4566"
	fs.Lookup("uri").Value.Set("http://127.0.0.1:4566")
	fs.StringVar(&cfg.Client, "client", bench.KinesisNative, "load client: native (lean net/http client, bodies built once) or sdk (aws-sdk-go-v2's kinesis client)")
	fs.IntVar(&cfg.Shards, "shards", 1, "shards of the stream; one GetRecords reader each")
	fs.IntVar(&cfg.Producers, "producers", 0, "concurrent PutRecords callers (0: one per shard, at least 2)")
	fs.IntVar(&cfg.Batch, "batch", 500, "records per PutRecords (1-500)")
	fs.IntVar(&cfg.Size, "size", 1024, "data bytes per record (at least 9: the send time)")
	fs.IntVar(&cfg.Limit, "limit", 10000, "GetRecords Limit")
	fs.StringVar(&cfg.Region, "region", "us-east-1", "region signed for")
	window(fs, &cfg.Duration, &cfg.Warmup)
	fs.DurationVar(&cfg.Drain, "drain", 30*time.Second, "longest wait for the readers to reach the end after the window (then losses are counted)")
	pid, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	cfg.Endpoint, cfg.BrokerPID, cfg.Broker, cfg.Scenario = c.uri, pid, c.broker, c.scenario
	r, err := bench.RunKinesis(ctx, cfg)
	return emit(stdout, r, err, &c, "kinesis", cfg.Client)
}
