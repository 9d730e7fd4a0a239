package conformance_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// debianPython is Debian's interpreter, where apt's python3-pika lives.
const debianPython = "/usr/bin/python3"

// TestPika runs testdata/pika_client.py under Debian's python3-pika:
// declare, bind, publish with confirms and mandatory, get, consume with
// prefetch and ack, nack and requeue, a 404, a transaction.
func TestPika(t *testing.T) {
	if _, err := os.Stat(debianPython); err != nil {
		t.Skipf("%s not found: apt-get install python3-pika", debianPython)
	}
	if out, err := exec.Command(debianPython, "-c", "import pika").CombinedOutput(); err != nil {
		t.Skipf("python3-pika not installed (apt-get install python3-pika): %s", out)
	}
	out, err := command(t, 2*time.Minute, []string{"AMQP_URL=" + broker.amqpURL}, debianPython, "testdata/pika_client.py")
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("pika client: %v\n%s", err, out)
	}
}

// amqpTool runs one of amqp-tools' commands against the broker.
func amqpTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	// No trailing slash: in an AMQP URI, "host/" names the vhost "".
	url := strings.TrimSuffix(broker.amqpURL, "/")
	out, err := command(t, time.Minute, nil, name, append([]string{"--url=" + url}, args...)...)
	return string(out), err
}

// TestAMQPTools drives amqp-tools (librabbitmq-c): declare a queue,
// publish persistent messages with headers, get one, consume the rest
// with acks, see the queue empty, delete it.
func TestAMQPTools(t *testing.T) {
	for _, tool := range []string{"amqp-declare-queue", "amqp-publish", "amqp-get", "amqp-consume", "amqp-delete-queue"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: apt-get install amqp-tools", tool)
		}
	}
	const q = "amqp-tools.q"
	if out, err := amqpTool(t, "amqp-declare-queue", "-d", "-q", q); err != nil || strings.TrimSpace(out) != q {
		t.Fatalf("amqp-declare-queue: %v %q", err, out)
	}
	for _, body := range []string{"one", "two", "three"} {
		if out, err := amqpTool(t, "amqp-publish", "-r", q, "-p", "-C", "text/plain", "-H", "k: v", "-b", body); err != nil {
			t.Fatalf("amqp-publish %s: %v %s", body, err, out)
		}
	}
	if out, err := amqpTool(t, "amqp-get", "-q", q); err != nil || out != "one" {
		t.Fatalf("amqp-get = %q, %v; want one", out, err)
	}
	out, err := amqpTool(t, "amqp-consume", "-q", q, "-c", "2", "-p", "1", "cat")
	if err != nil || out != "twothree" {
		t.Fatalf("amqp-consume = %q, %v; want twothree", out, err)
	}
	if out, err := amqpTool(t, "amqp-get", "-q", q); err == nil {
		t.Fatalf("amqp-get on an empty queue succeeded: %q", out)
	}
	c := dial(t)
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if st, err := ch.QueueDeclarePassive(q, true, false, false, false, nil); err != nil || st.Messages != 0 {
		t.Fatalf("after amqp-consume: %+v %v; want an empty queue (acked)", st, err)
	}
	if out, err := amqpTool(t, "amqp-delete-queue", "-q", q); err != nil {
		t.Fatalf("amqp-delete-queue: %v %s", err, out)
	}
}
