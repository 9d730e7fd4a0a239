package conformance_test

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The AWS tests drive third-party AWS clients against the junction
// binary's AWS gateway (one broker per test, AWS listener only): Debian's
// awscli 2.9 (SQS and SNS over Query, Kinesis over JSON 1.1), Debian's
// python3-boto3 1.26 (Query) and the Node @aws-sdk/client-sqs pinned in
// node/package.json (AWS JSON 1.0). See README.md, "AWS gateway".

// receiveOne long-polls url with the CLI until a message arrives and
// returns it.
func (b *awsBroker) receiveOne(t *testing.T, url string, extra ...string) map[string]any {
	t.Helper()
	for range 5 {
		r := b.ok(t, append([]string{"sqs", "receive-message", "--queue-url", url,
			"--wait-time-seconds", "2"}, extra...)...)
		if m, ok := awsField(r, "Messages", 0).(map[string]any); ok {
			return m
		}
	}
	t.Fatalf("no message on %s", url)
	return nil
}

// receiveNone checks that url has no visible message.
func (b *awsBroker) receiveNone(t *testing.T, url string) {
	t.Helper()
	r := b.ok(t, "sqs", "receive-message", "--queue-url", url)
	if m := awsField(r, "Messages"); m != nil {
		t.Fatalf("%s: unexpected messages %v", url, m)
	}
}

// createQueue creates a queue with the CLI and returns its URL and ARN.
func (b *awsBroker) createQueue(t *testing.T, name string, attrs ...string) (url, arn string) {
	t.Helper()
	args := []string{"sqs", "create-queue", "--queue-name", name}
	if len(attrs) > 0 {
		args = append(args, "--attributes", strings.Join(attrs, ","))
	}
	url = awsStr(b.ok(t, args...), "QueueUrl")
	if url == "" {
		t.Fatalf("create-queue %s: no QueueUrl", name)
	}
	arn = awsStr(b.ok(t, "sqs", "get-queue-attributes", "--queue-url", url,
		"--attribute-names", "QueueArn"), "Attributes", "QueueArn")
	return url, arn
}

func awsMD5Hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestAWSCLISQS drives SQS with Debian's awscli (Query protocol).
func TestAWSCLISQS(t *testing.T) {
	needAWSCLI(t)
	b := startAWSBroker(t)
	t.Run("standard", func(t *testing.T) { cliSQSStandard(t, b) })
	t.Run("attributes", func(t *testing.T) { cliSQSAttributes(t, b) })
	t.Run("fifo", func(t *testing.T) { cliSQSFIFO(t, b) })
	t.Run("redrive", func(t *testing.T) { cliSQSRedrive(t, b) })
	t.Run("purge-delete", func(t *testing.T) { cliSQSPurgeDelete(t, b) })
	t.Run("errors", func(t *testing.T) { cliSQSErrors(t, b) })
}

// cliSQSStandard: create, get-queue-url, list, send with attributes,
// receive, change visibility, receive again, delete.
func cliSQSStandard(t *testing.T, b *awsBroker) {
	url, _ := b.createQueue(t, "cli-std")
	if got := awsStr(b.ok(t, "sqs", "get-queue-url", "--queue-name", "cli-std"), "QueueUrl"); got != url {
		t.Fatalf("get-queue-url = %q, want %q", got, url)
	}
	if got := awsField(b.ok(t, "sqs", "list-queues", "--queue-name-prefix", "cli-"), "QueueUrls", 0); got != url {
		t.Fatalf("list-queues: %v, want %s", got, url)
	}
	body := "hello, wörld"
	sent := b.ok(t, "sqs", "send-message", "--queue-url", url, "--message-body", body,
		"--message-attributes", `{"s":{"DataType":"String","StringValue":"v"},`+
			`"n":{"DataType":"Number","StringValue":"42"},"b":{"DataType":"Binary","BinaryValue":"AAH/"}}`)
	if got := awsStr(sent, "MD5OfMessageBody"); got != awsMD5Hex(body) {
		t.Fatalf("MD5OfMessageBody %s, want %s", got, awsMD5Hex(body))
	}
	m := b.receiveOne(t, url, "--message-attribute-names", "All", "--attribute-names", "All")
	if awsStr(m, "Body") != body || awsStr(m, "MessageId") != awsStr(sent, "MessageId") {
		t.Fatalf("received %v, sent %v", m, sent)
	}
	if awsStr(m, "MD5OfMessageAttributes") != awsStr(sent, "MD5OfMessageAttributes") ||
		awsStr(m, "MessageAttributes", "b", "BinaryValue") != "AAH/" ||
		awsStr(m, "MessageAttributes", "n", "StringValue") != "42" ||
		awsStr(m, "Attributes", "ApproximateReceiveCount") != "1" {
		t.Fatalf("attributes: %v", m)
	}
	b.receiveNone(t, url)
	b.ok(t, "sqs", "change-message-visibility", "--queue-url", url,
		"--receipt-handle", awsStr(m, "ReceiptHandle"), "--visibility-timeout", "0")
	m2 := b.receiveOne(t, url, "--attribute-names", "ApproximateReceiveCount")
	if awsStr(m2, "Attributes", "ApproximateReceiveCount") != "2" || awsStr(m2, "ReceiptHandle") == awsStr(m, "ReceiptHandle") {
		t.Fatalf("second receive: %v", m2)
	}
	b.ok(t, "sqs", "delete-message", "--queue-url", url, "--receipt-handle", awsStr(m2, "ReceiptHandle"))
	b.receiveNone(t, url)
}

// cliSQSAttributes: set and get queue attributes, counters, batches.
func cliSQSAttributes(t *testing.T, b *awsBroker) {
	url, arn := b.createQueue(t, "cli-attrs", "VisibilityTimeout=60")
	b.ok(t, "sqs", "set-queue-attributes", "--queue-url", url,
		"--attributes", "VisibilityTimeout=45,MessageRetentionPeriod=3600,ReceiveMessageWaitTimeSeconds=1")
	b.ok(t, "sqs", "send-message-batch", "--queue-url", url, "--entries",
		"Id=a,MessageBody=one", "Id=b,MessageBody=two", "Id=c,MessageBody=three,DelaySeconds=60")
	attrs := b.ok(t, "sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All")
	want := map[string]string{"VisibilityTimeout": "45", "MessageRetentionPeriod": "3600",
		"ReceiveMessageWaitTimeSeconds": "1", "QueueArn": arn, "DelaySeconds": "0",
		"MaximumMessageSize": "1048576", "ApproximateNumberOfMessages": "2",
		"ApproximateNumberOfMessagesDelayed": "1", "ApproximateNumberOfMessagesNotVisible": "0"}
	for k, v := range want {
		if got := awsStr(attrs, "Attributes", k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	r := b.ok(t, "sqs", "receive-message", "--queue-url", url, "--max-number-of-messages", "10")
	msgs, _ := awsField(r, "Messages").([]any)
	if len(msgs) != 2 {
		t.Fatalf("received %d messages, want 2: %v", len(msgs), r)
	}
	entries := make([]string, len(msgs))
	for i := range msgs {
		entries[i] = "Id=" + string(rune('a'+i)) + ",ReceiptHandle=" + awsStr(msgs[i], "ReceiptHandle")
	}
	del := b.ok(t, append([]string{"sqs", "delete-message-batch", "--queue-url", url, "--entries"}, entries...)...)
	if n, _ := awsField(del, "Successful").([]any); len(n) != 2 {
		t.Fatalf("delete-message-batch: %v", del)
	}
	b.ok(t, "sqs", "tag-queue", "--queue-url", url, "--tags", "team=core")
	if got := awsStr(b.ok(t, "sqs", "list-queue-tags", "--queue-url", url), "Tags", "team"); got != "core" {
		t.Fatalf("list-queue-tags: team=%q", got)
	}
}

// cliSQSFIFO: a FIFO queue keeps group order, blocks a group in flight and
// drops duplicates.
func cliSQSFIFO(t *testing.T, b *awsBroker) {
	url, _ := b.createQueue(t, "cli-f.fifo", "FifoQueue=true", "ContentBasedDeduplication=true")
	var seqs, ids []string
	for _, body := range []string{"m1", "m2", "m3", "m1"} {
		r := b.ok(t, "sqs", "send-message", "--queue-url", url, "--message-body", body, "--message-group-id", "g")
		seqs, ids = append(seqs, awsStr(r, "SequenceNumber")), append(ids, awsStr(r, "MessageId"))
	}
	// Equal-length decimal strings: increasing, and the content duplicate
	// is answered with the original's MessageId and SequenceNumber.
	if seqs[0] == "" || seqs[0] >= seqs[1] || seqs[1] >= seqs[2] || seqs[3] != seqs[0] || ids[3] != ids[0] {
		t.Fatalf("FIFO sends: SequenceNumbers %v, MessageIds %v", seqs, ids)
	}
	b.ok(t, "sqs", "send-message", "--queue-url", url, "--message-body", "m1",
		"--message-group-id", "g", "--message-deduplication-id", "other")
	b.fails(t, "MissingParameter", "The request must contain the parameter MessageGroupId.",
		"sqs", "send-message", "--queue-url", url, "--message-body", "x")
	r := b.ok(t, "sqs", "receive-message", "--queue-url", url, "--max-number-of-messages", "10",
		"--attribute-names", "All")
	var bodies []string
	msgs, _ := awsField(r, "Messages").([]any)
	for _, m := range msgs {
		bodies = append(bodies, awsStr(m, "Body"))
		if awsStr(m, "Attributes", "MessageGroupId") != "g" || awsStr(m, "Attributes", "SequenceNumber") == "" {
			t.Fatalf("FIFO system attributes missing: %v", m)
		}
	}
	if got := strings.Join(bodies, ","); got != "m1,m2,m3,m1" {
		t.Fatalf("received %s, want m1,m2,m3,m1 (the content duplicate dropped)", got)
	}
	b.receiveNone(t, url) // the group is in flight
	b.ok(t, "sqs", "delete-queue", "--queue-url", url)
}

// cliSQSRedrive: a message received maxReceiveCount times moves to the
// dead-letter queue, which lists its source.
func cliSQSRedrive(t *testing.T, b *awsBroker) {
	dlq, dlqARN := b.createQueue(t, "cli-dlq")
	policy, _ := json.Marshal(map[string]string{"deadLetterTargetArn": dlqARN, "maxReceiveCount": "2"})
	attrs, _ := json.Marshal(map[string]string{"RedrivePolicy": string(policy), "VisibilityTimeout": "0"})
	src := awsStr(b.ok(t, "sqs", "create-queue", "--queue-name", "cli-src", "--attributes", string(attrs)), "QueueUrl")
	got := b.ok(t, "sqs", "get-queue-attributes", "--queue-url", src, "--attribute-names", "RedrivePolicy")
	var rp map[string]any
	if err := json.Unmarshal([]byte(awsStr(got, "Attributes", "RedrivePolicy")), &rp); err != nil || rp["deadLetterTargetArn"] != dlqARN {
		t.Fatalf("RedrivePolicy: %v (%v)", got, err)
	}
	b.ok(t, "sqs", "send-message", "--queue-url", src, "--message-body", "poison")
	b.receiveOne(t, src)
	b.receiveOne(t, src)
	b.receiveNone(t, src)
	m := b.receiveOne(t, dlq, "--attribute-names", "All")
	if awsStr(m, "Body") != "poison" {
		t.Fatalf("dead-lettered: %v", m)
	}
	srcs := b.ok(t, "sqs", "list-dead-letter-source-queues", "--queue-url", dlq)
	if awsField(srcs, "queueUrls", 0) != src {
		t.Fatalf("list-dead-letter-source-queues: %v", srcs)
	}
}

// cliSQSPurgeDelete: purge empties a queue of ready, in-flight and
// delayed messages (once a minute), delete-queue removes it and its name
// is reserved for 60 s.
func cliSQSPurgeDelete(t *testing.T, b *awsBroker) {
	url, _ := b.createQueue(t, "cli-purge")
	b.ok(t, "sqs", "send-message", "--queue-url", url, "--message-body", "in flight")
	b.receiveOne(t, url)
	b.ok(t, "sqs", "send-message-batch", "--queue-url", url, "--entries", "Id=a,MessageBody=1",
		"Id=b,MessageBody=2,DelaySeconds=1")
	b.ok(t, "sqs", "purge-queue", "--queue-url", url)
	time.Sleep(1500 * time.Millisecond) // past the delay
	got := b.ok(t, "sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All")
	for _, k := range []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"} {
		if n := awsStr(got, "Attributes", k); n != "0" {
			t.Errorf("after purge: %s = %s", k, n)
		}
	}
	b.fails(t, "AWS.SimpleQueueService.PurgeQueueInProgress", "Only one PurgeQueue operation on cli-purge is allowed every 60 seconds.",
		"sqs", "purge-queue", "--queue-url", url)
	b.ok(t, "sqs", "delete-queue", "--queue-url", url)
	b.fails(t, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist",
		"sqs", "get-queue-url", "--queue-name", "cli-purge")
	b.fails(t, "AWS.SimpleQueueService.QueueDeletedRecently", "You must wait 60 seconds after deleting a queue",
		"sqs", "create-queue", "--queue-name", "cli-purge")
}

// cliSQSErrors: errors reach the CLI with AWS's codes and messages.
func cliSQSErrors(t *testing.T, b *awsBroker) {
	missing := b.endpoint + "/000000000000/cli-missing"
	b.fails(t, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist",
		"sqs", "get-queue-url", "--queue-name", "cli-missing")
	b.fails(t, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist",
		"sqs", "send-message", "--queue-url", missing, "--message-body", "x")
	url, _ := b.createQueue(t, "cli-err")
	b.fails(t, "ReceiptHandleIsInvalid", "", "sqs", "delete-message", "--queue-url", url, "--receipt-handle", "forged")
	b.fails(t, "InvalidParameterValue", "", "sqs", "receive-message", "--queue-url", url, "--max-number-of-messages", "11")
	b.fails(t, "InvalidAttributeValue", "", "sqs", "set-queue-attributes", "--queue-url", url,
		"--attributes", "VisibilityTimeout=43201")
	b.fails(t, "InvalidParameterValue", "", "sqs", "create-queue", "--queue-name", "bad name")
}

// TestAWSCLITLS: with tls-cert and tls-key, the gateway's one port also
// serves https://, and the CLI works over it for the three services.
func TestAWSCLITLS(t *testing.T) {
	needAWSCLI(t)
	cert, key := awsSelfSigned(t, t.TempDir())
	b := startAWSBroker(t, "--tls-cert", cert, "--tls-key", key)
	plain := b.endpoint
	b.endpoint, b.caBundle = strings.Replace(b.endpoint, "http://", "https://", 1), cert
	url, _ := b.createQueue(t, "tls-q")
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("QueueUrl over https: %s", url)
	}
	b.ok(t, "sqs", "send-message", "--queue-url", url, "--message-body", "secure")
	b.ok(t, "sns", "create-topic", "--name", "tls-t")
	b.ok(t, "kinesis", "create-stream", "--stream-name", "tls-s", "--shard-count", "1")
	b.endpoint = plain // the same port, plain HTTP
	if got := awsStr(b.receiveOne(t, plain+"/000000000000/tls-q"), "Body"); got != "secure" {
		t.Fatalf("body over http: %q", got)
	}
	if got := awsStr(b.ok(t, "kinesis", "list-streams"), "StreamNames", 0); got != "tls-s" {
		t.Fatalf("list-streams over http: %q", got)
	}
}

// TestAWSBoto3 runs testdata/aws_boto3.py under Debian's python3-boto3
// (Query protocol): the SQS flows and SNS → SQS.
func TestAWSBoto3(t *testing.T) {
	if _, err := os.Stat(awsPython); err != nil {
		t.Skipf("%s not found: apt-get install python3-boto3", awsPython)
	}
	b := startAWSBroker(t)
	check := exec.Command(awsPython, "-c", "import boto3")
	check.Env = b.clientEnv()
	if out, err := check.CombinedOutput(); err != nil {
		t.Skipf("python3-boto3 not installed (apt-get install python3-boto3): %s", out)
	}
	out, err := b.run(t, 3*time.Minute, awsPython, "testdata/aws_boto3.py")
	t.Logf("%s", out)
	if err != nil || !strings.Contains(out, "OK boto3") {
		t.Fatalf("boto3: %v", err)
	}
}

// TestAWSNodeSQS runs node/sqs_flow.mjs with the @aws-sdk/client-sqs
// version pinned in node/package-lock.json (AWS JSON 1.0). .ci/run
// installs it with npm ci; the test does so itself when npm is present.
func TestAWSNodeSQS(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed (Node 20 or later: apt-get install nodejs npm)")
	}
	mod := filepath.Join("node", "node_modules", "@aws-sdk", "client-sqs")
	if _, err := os.Stat(mod); err != nil {
		if _, err := exec.LookPath("npm"); err != nil {
			t.Skip("conformance/node/node_modules missing and npm not installed: cd conformance/node && npm ci")
		}
		npm := exec.Command("npm", "ci", "--prefix", "node", "--no-audit", "--no-fund")
		if out, err := npm.CombinedOutput(); err != nil {
			t.Skipf("npm ci in conformance/node failed (offline?): %v\n%s", err, out)
		}
	}
	b := startAWSBroker(t)
	out, err := b.run(t, 2*time.Minute, "node", "--no-warnings", "node/sqs_flow.mjs")
	t.Logf("%s", out)
	if err != nil || !strings.Contains(out, "OK @aws-sdk/client-sqs") {
		t.Fatalf("node: %v", err)
	}
}

// TestAWSCLIKinesis drives Kinesis with Debian's awscli (JSON 1.1):
// create, put, iterate, split, merge, delete.
func TestAWSCLIKinesis(t *testing.T) {
	needAWSCLI(t)
	b := startAWSBroker(t)
	b.ok(t, "kinesis", "create-stream", "--stream-name", "cli-s", "--shard-count", "2")
	sum := b.ok(t, "kinesis", "describe-stream-summary", "--stream-name", "cli-s")
	if awsStr(sum, "StreamDescriptionSummary", "StreamStatus") != "ACTIVE" ||
		awsField(sum, "StreamDescriptionSummary", "OpenShardCount") != 2.0 {
		t.Fatalf("describe-stream-summary: %v", sum)
	}
	put := b.ok(t, "kinesis", "put-record", "--stream-name", "cli-s", "--partition-key", "pk", "--data", "aGVsbG8=")
	if awsStr(put, "ShardId") == "" || awsStr(put, "SequenceNumber") == "" {
		t.Fatalf("put-record: %v", put)
	}
	puts := b.ok(t, "kinesis", "put-records", "--stream-name", "cli-s", "--records",
		"Data=YQ==,PartitionKey=a", "Data=Yg==,PartitionKey=b", "Data=Yw==,PartitionKey=c")
	if awsField(puts, "FailedRecordCount") != 0.0 {
		t.Fatalf("put-records: %v", puts)
	}
	got := b.readAll(t, "cli-s", "shardId-000000000000", "shardId-000000000001")
	if strings.Join(got, ",") != "a:YQ==,b:Yg==,c:Yw==,pk:aGVsbG8=" {
		t.Fatalf("records: %v", got)
	}
	cliKinesisReshard(t, b)
	b.fails(t, "ResourceInUseException", "Stream cli-s under account 000000000000 already exists.",
		"kinesis", "create-stream", "--stream-name", "cli-s", "--shard-count", "1")
	b.fails(t, "ValidationException", "1 validation error detected: Value 'bad name' at 'streamName' failed to satisfy constraint",
		"kinesis", "create-stream", "--stream-name", "bad name", "--shard-count", "1")
	b.fails(t, "InvalidArgumentException", "Invalid ShardIterator.",
		"kinesis", "get-records", "--shard-iterator", strings.Repeat("A", 76))
	b.ok(t, "kinesis", "delete-stream", "--stream-name", "cli-s")
	b.fails(t, "ResourceNotFoundException", "Stream cli-s under account 000000000000 not found.",
		"kinesis", "describe-stream-summary", "--stream-name", "cli-s")
}

// cliKinesisReshard splits shard 0 of cli-s, merges its children and
// checks the lineage, the parent's ChildShards and that the merged shard
// takes records.
func cliKinesisReshard(t *testing.T, b *awsBroker) {
	b.ok(t, "kinesis", "split-shard", "--stream-name", "cli-s", "--shard-to-split", "shardId-000000000000",
		"--new-starting-hash-key", "85070591730234615865843651857942052864")
	b.waitActive(t, "cli-s")
	b.fails(t, "InvalidArgumentException", "has already been merged or split", "kinesis", "split-shard", "--stream-name", "cli-s",
		"--shard-to-split", "shardId-000000000000", "--new-starting-hash-key", "42")
	b.ok(t, "kinesis", "merge-shards", "--stream-name", "cli-s", "--shard-to-merge", "shardId-000000000002",
		"--adjacent-shard-to-merge", "shardId-000000000003")
	b.waitActive(t, "cli-s")
	shards, _ := awsField(b.ok(t, "kinesis", "list-shards", "--stream-name", "cli-s"), "Shards").([]any)
	var lineage []string
	for _, s := range shards {
		lineage = append(lineage, awsStr(s, "ShardId")[8:]+"<"+awsStr(s, "ParentShardId")+"+"+awsStr(s, "AdjacentParentShardId"))
	}
	want := "000000000000<+,000000000001<+,000000000002<shardId-000000000000+," +
		"000000000003<shardId-000000000000+,000000000004<shardId-000000000002+shardId-000000000003"
	if strings.Join(lineage, ",") != want {
		t.Fatalf("lineage %v\nwant %s", lineage, want)
	}
	it := awsStr(b.ok(t, "kinesis", "get-shard-iterator", "--stream-name", "cli-s",
		"--shard-id", "shardId-000000000000", "--shard-iterator-type", "TRIM_HORIZON"), "ShardIterator")
	r := b.ok(t, "kinesis", "get-records", "--shard-iterator", it)
	if kids, _ := awsField(r, "ChildShards").([]any); len(kids) != 2 || awsField(r, "NextShardIterator") != nil {
		t.Fatalf("closed parent's get-records: %v", r)
	}
	put := b.ok(t, "kinesis", "put-record", "--stream-name", "cli-s", "--partition-key", "a", "--data", "ZA==")
	if s := awsStr(put, "ShardId"); s != "shardId-000000000004" {
		t.Fatalf("put-record after merge went to %s (MD5(a) is in shard 0's range)", s)
	}
}

// waitActive polls describe-stream-summary until the stream is ACTIVE.
func (b *awsBroker) waitActive(t *testing.T, stream string) {
	t.Helper()
	for range 50 {
		r := b.ok(t, "kinesis", "describe-stream-summary", "--stream-name", stream)
		if awsStr(r, "StreamDescriptionSummary", "StreamStatus") == "ACTIVE" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("stream %s did not become ACTIVE", stream)
}

// readAll reads every record of the shards from TRIM_HORIZON and returns
// them as "partitionKey:base64data", sorted.
func (b *awsBroker) readAll(t *testing.T, stream string, shards ...string) []string {
	t.Helper()
	var got []string
	for _, shard := range shards {
		it := awsStr(b.ok(t, "kinesis", "get-shard-iterator", "--stream-name", stream,
			"--shard-id", shard, "--shard-iterator-type", "TRIM_HORIZON"), "ShardIterator")
		r := b.ok(t, "kinesis", "get-records", "--shard-iterator", it, "--limit", "100")
		recs, _ := awsField(r, "Records").([]any)
		for _, rec := range recs {
			got = append(got, awsStr(rec, "PartitionKey")+":"+awsStr(rec, "Data"))
		}
		if awsStr(r, "NextShardIterator") == "" {
			t.Fatalf("open shard %s: no NextShardIterator: %v", shard, r)
		}
	}
	slices.Sort(got)
	return got
}
