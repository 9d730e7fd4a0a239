package core_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ext4OnLoop makes an ext4 file system of size bytes on a loop device,
// mounted with errors=remount-ro, and returns the device and the mount
// point. It skips the test where that cannot be done (not root, no loop
// devices, no ext4); the cleanups unmount and detach even when the test
// failed half-way.
func ext4OnLoop(t *testing.T, size int64) (dev, mnt string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: makes a file system on a loop device")
	}
	if os.Getuid() != 0 {
		t.Skip("needs root to make a file system on a loop device")
	}
	for _, tool := range []string{"losetup", "mkfs.ext4", "e2fsck", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	img := filepath.Join(t.TempDir(), "fs.img")
	f, err := os.Create(img)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(size))
	require.NoError(t, f.Close())
	out, err := exec.Command("losetup", "-f", "--show", img).CombinedOutput()
	if err != nil {
		t.Skipf("no loop device available: %v %s", err, out)
	}
	dev = strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			t.Logf("losetup -d %s: %v %s", dev, err, out)
		}
	})
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", dev).CombinedOutput(); err != nil {
		t.Skipf("cannot make ext4 on %s: %v %s", dev, err, out)
	}
	mnt = t.TempDir()
	mountExt4(t, dev, mnt)
	t.Cleanup(func() { unmount(t, mnt) })
	return dev, mnt
}

func mountExt4(t *testing.T, dev, mnt string) {
	t.Helper()
	if out, err := exec.Command("mount", "-t", "ext4", "-o", "errors=remount-ro", dev, mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount ext4 from %s: %v %s", dev, err, out)
	}
}

// unmount unmounts mnt if it is mounted, lazily when it is busy.
func unmount(t *testing.T, mnt string) {
	mounts, _ := os.ReadFile("/proc/self/mounts")
	if !strings.Contains(string(mounts), " "+mnt+" ") {
		return
	}
	if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
		t.Logf("umount %s: %v %s; detaching it lazily", mnt, err, out)
		_ = exec.Command("umount", "-l", mnt).Run()
	}
}

// failFilesystem makes the ext4 on dev hit an error, which with
// errors=remount-ro turns it read-only at once: what the kernel does when
// the disk under a data directory fails.
func failFilesystem(t *testing.T, dev, mnt string) {
	t.Helper()
	trigger := filepath.Join("/sys/fs/ext4", filepath.Base(dev), "trigger_fs_error")
	if _, err := os.Stat(trigger); err != nil {
		t.Skipf("this kernel cannot inject an ext4 error (%v)", err)
	}
	require.NoError(t, os.WriteFile(trigger, []byte("junction read-only test"), 0))
	err := os.WriteFile(filepath.Join(mnt, "probe"), []byte("x"), 0o600)
	require.ErrorIs(t, err, syscall.EROFS, "the file system did not turn read-only")
}

// junctionBinary returns $JUNCTION_BIN or builds the broker.
func junctionBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("JUNCTION_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "junction")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/junctionmq/junction/cmd/junction").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// junction is a broker child process with AMQP and management listeners.
type junction struct {
	cmd             *exec.Cmd
	amqp, mgmt, aws string
	log             string
	exited          chan struct{}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// startJunction runs bin on dataDir; its log goes to logPath (outside
// the file system under test), appended across restarts.
func startJunction(t *testing.T, bin, dataDir, logPath string) *junction {
	t.Helper()
	j := &junction{amqp: freeAddr(t), mgmt: freeAddr(t), aws: freeAddr(t), log: logPath, exited: make(chan struct{})}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	j.cmd = exec.Command(bin, "serve", "--data-dir", dataDir, "--log-level", "info",
		"--amqp-listen", j.amqp, "--mgmt-listen", j.mgmt, "--amqps-listen=", "--mqtt-listen=",
		"--mqtts-listen=", "--mqtt-ws-listen=", "--aws-listen", j.aws, "--metrics-listen=")
	j.cmd.Stdout, j.cmd.Stderr = logf, logf
	require.NoError(t, j.cmd.Start())
	logf.Close()
	go func() { _ = j.cmd.Wait(); close(j.exited) }()
	t.Cleanup(func() { j.stop(t) })
	for _, a := range []string{j.amqp, j.mgmt, j.aws} {
		require.Eventually(t, func() bool {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil
		}, 60*time.Second, 50*time.Millisecond, "broker not listening on %s", a)
	}
	return j
}

// stop ends the broker with SIGTERM and reports whether it exited within
// a minute (else it is killed).
func (j *junction) stop(t *testing.T) bool {
	select {
	case <-j.exited:
		return true
	default:
	}
	_ = j.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-j.exited:
		return true
	case <-time.After(time.Minute):
		t.Logf("the broker did not exit within a minute of SIGTERM: killing it")
		_ = j.cmd.Process.Kill()
		<-j.exited
		return false
	}
}

func (j *junction) dial(t *testing.T) *rmq.Connection {
	t.Helper()
	c, err := rmq.Dial("amqp://guest:guest@" + j.amqp + "/")
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// publishConfirmed publishes ids to queue on a confirm-mode channel and
// returns, per id, the broker's answer: "ack", "nack", or the error that
// closed the channel or connection before the confirm came.
func publishConfirmed(t *testing.T, ch *rmq.Channel, queue string, persistent bool, ids []string) map[string]string {
	t.Helper()
	require.NoError(t, ch.Confirm(false))
	mode := rmq.Transient
	if persistent {
		mode = rmq.Persistent
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	answers := make(map[string]string, len(ids))
	dcs := make(map[string]*rmq.DeferredConfirmation, len(ids))
	for _, id := range ids {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", queue, false, false,
			rmq.Publishing{DeliveryMode: mode, MessageId: id, Body: []byte("body of " + id)})
		if err != nil {
			answers[id] = err.Error()
			continue
		}
		dcs[id] = dc
	}
	for id, dc := range dcs {
		ack, err := dc.WaitContext(ctx)
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			answers[id] = "no answer within a minute"
		case err != nil:
			answers[id] = err.Error()
		case ack:
			answers[id] = "ack"
		default:
			answers[id] = "nack"
		}
	}
	return answers
}

// sqsClient is an SQS client of the broker's AWS gateway (default key
// pair), without retries: a refused send must show.
func (j *junction) sqsClient() *sqs.Client {
	return sqs.NewFromConfig(aws.Config{Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   &http.Client{Timeout: time.Minute},
		BaseEndpoint: aws.String("http://" + j.aws)})
}

// sqsSend sends each body and returns, per body, "ok", the AWS error
// code or the error.
func sqsSend(t *testing.T, c *sqs.Client, url string, bodies []string) map[string]string {
	t.Helper()
	answers := make(map[string]string, len(bodies))
	for _, b := range bodies {
		_, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(b)})
		var apiErr smithy.APIError
		switch {
		case err == nil:
			answers[b] = "ok"
		case errors.As(err, &apiErr):
			answers[b] = apiErr.ErrorCode()
		default:
			answers[b] = err.Error()
		}
	}
	return answers
}

// sqsDrain receives and deletes until the queue is empty and returns the
// bodies.
func sqsDrain(t *testing.T, c *sqs.Client, url string) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	for {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: &url,
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		require.NoError(t, err)
		if len(out.Messages) == 0 {
			return got
		}
		for _, m := range out.Messages {
			got[aws.ToString(m.Body)] = true
			_, err := c.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle})
			require.NoError(t, err)
		}
	}
}

// drain gets every message of queue and returns their ids.
func drain(t *testing.T, ch *rmq.Channel, queue string) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	for {
		d, ok, err := ch.Get(queue, true)
		require.NoError(t, err)
		if !ok {
			return got
		}
		got[d.MessageId] = true
	}
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

// TestReadOnlyDataDirRefusesAndRecovers runs the broker on an ext4 file
// system that turns read-only under it (an I/O error with
// errors=remount-ro, as when the disk fails): persistent AMQP publishes
// are then nacked and SQS sends answered with AWS's error for a failure on
// its side, never confirmed; the broker keeps answering other clients
// and stops on SIGTERM with the fault in its log; and once the file
// system is repaired (unmounted, checked, mounted again) and the broker
// restarted on it, every message confirmed before the fault is there.
func TestReadOnlyDataDirRefusesAndRecovers(t *testing.T) {
	dev, mnt := ext4OnLoop(t, 128<<20)
	bin := junctionBinary(t)
	dataDir := filepath.Join(mnt, "data")
	logPath := filepath.Join(t.TempDir(), "junction.log")
	defer func() {
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("broker log:\n%s", out)
		}
	}()
	j := startJunction(t, bin, dataDir, logPath)

	conn := j.dial(t)
	ch, err := conn.Channel()
	require.NoError(t, err)
	_, err = ch.QueueDeclare("durable", true, false, false, false, nil)
	require.NoError(t, err)
	_, err = ch.QueueDeclare("transient", false, false, false, false, nil)
	require.NoError(t, err)
	before := ids("before-", 200)
	for id, a := range publishConfirmed(t, ch, "durable", true, before) {
		require.Equal(t, "ack", a, "message %s before the fault", id)
	}
	sq := j.sqsClient()
	created, err := sq.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("ro-sqs")})
	require.NoError(t, err)
	sqsURL := aws.ToString(created.QueueUrl)
	sqsBefore := ids("sqs-before-", 50)
	for b, a := range sqsSend(t, sq, sqsURL, sqsBefore) {
		require.Equal(t, "ok", a, "SQS message %s before the fault", b)
	}

	failFilesystem(t, dev, mnt)

	// Persistent publishes are refused, never confirmed.
	during := ids("during-", 50)
	answers := publishConfirmed(t, ch, "durable", true, during)
	refused := map[string]int{}
	for id, a := range answers {
		assert.NotEqual(t, "ack", a, "message %s confirmed while the data directory is read-only", id)
		assert.NotEqual(t, "no answer within a minute", a, "message %s", id)
		refused[a]++
	}
	t.Logf("persistent publishes on the read-only file system: %v", refused)
	sqsRefused := map[string]int{}
	for b, a := range sqsSend(t, sq, sqsURL, ids("sqs-during-", 10)) {
		// AWS's answers for a failure on its side, never a success.
		assert.Contains(t, []string{"InternalFailure", "ServiceUnavailable", "ThrottlingException"}, a,
			"SQS message %s while the data directory is read-only", b)
		sqsRefused[a]++
	}
	t.Logf("SQS sends on the read-only file system: %v", sqsRefused)

	// Other clients still get answers: transient messages flow, the
	// management API answers.
	conn2 := j.dial(t)
	ch2, err := conn2.Channel()
	require.NoError(t, err)
	for id, a := range publishConfirmed(t, ch2, "transient", false, ids("transient-", 20)) {
		assert.Equal(t, "ack", a, "transient message %s", id)
	}
	assert.Len(t, drain(t, ch2, "transient"), 20)
	req, err := http.NewRequest("GET", "http://"+j.mgmt+"/api/overview", nil)
	require.NoError(t, err)
	req.SetBasicAuth("guest", "guest")
	hc := http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "GET /api/overview")

	// Stop, repair, restart: everything confirmed before the fault is there.
	assert.True(t, j.stop(t), "the broker did not stop on SIGTERM")
	log, err := os.ReadFile(logPath)
	require.NoError(t, err)
	assert.Contains(t, string(log), "the data directory refuses writes", "the broker did not log the fault")
	unmount(t, mnt)
	out, err := exec.Command("e2fsck", "-f", "-y", dev).CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() <= 2 {
		err = nil // 1, 2: errors corrected
	}
	require.NoError(t, err, "e2fsck: %s", out)
	out, err = exec.Command("mount", "-t", "ext4", "-o", "errors=remount-ro", dev, mnt).CombinedOutput()
	require.NoError(t, err, "mount after the repair: %s", out)
	j = startJunction(t, bin, dataDir, logPath)
	ch, err = j.dial(t).Channel()
	require.NoError(t, err)
	got := drain(t, ch, "durable")
	for _, id := range before {
		assert.True(t, got[id], "message %s, confirmed before the fault, is gone", id)
	}
	sqsGot := sqsDrain(t, j.sqsClient(), sqsURL)
	for _, b := range sqsBefore {
		assert.True(t, sqsGot[b], "SQS message %s, sent before the fault, is gone", b)
	}
	var back int
	for _, id := range during {
		if got[id] {
			back++
		}
	}
	t.Logf("after the repair: every confirmed message there (%d AMQP, %d SQS), and %d of %d refused AMQP ones",
		len(before), len(sqsBefore), back, len(during))
}
