// Package bench is the library behind cmd/junction-bench: AMQP throughput
// and latency runs in the spirit of RabbitMQ's PerfTest, idle-connection
// memory, and the summary of many runs.
//
// A run (RunAMQP) declares its own queues (and, with several queues, a
// fanout exchange), starts the consumers, then the producers; after the
// warm-up it measures for the configured duration. Every body starts with
// its send time (for fixed-rate runs, the time it was scheduled, so a
// late producer counts against latency); consumers record end-to-end
// latency in a Histogram. Confirm latency runs from the send to the
// broker's basic.ack. CPU comes from getrusage of the bench process
// itself and from /proc/PID/stat of the broker; memory from
// /proc/PID/status.
//
// Two load clients: the native one (NativeConn, on protocol/amqp091)
// appends up to 64 publishes to one buffer and writes them in one
// syscall, and acknowledges whatever one read brought in with one write,
// so that on a small machine the client is not the bottleneck; the
// amqp091 one uses github.com/rabbitmq/amqp091-go, which is what users
// run.
//
// The Kinesis run (RunKinesis) has two clients as well: the native one
// (nativeKinesis) builds each producer's PutRecords body once, patches
// every record's send time and partition key in place per call, signs
// with SigV4 (payload hash included) and scans GetRecords answers rather
// than decoding them; the sdk one is aws-sdk-go-v2's kinesis client.
// After the window the producers stop and the readers read every shard
// to its end, so that records lost or read twice are counted.
//
// compare.sh runs every scenario against Junction and a private RabbitMQ
// (rabbitmq.sh) in alternation and prints the summary; Makefile.inc gives
// it a make target.
package bench
