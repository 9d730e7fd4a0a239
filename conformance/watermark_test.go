package conformance_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
)

// memOf reads a process's resident anonymous memory (RssAnon: heap,
// stacks, buffers) and its resident file-backed pages (RssFile: the
// store's memory-mapped files, page cache the kernel reclaims at will)
// from /proc.
func memOf(pid int) (anon, file uint64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	found := 0
	for sc.Scan() {
		for _, field := range []struct {
			name string
			dst  *uint64
		}{{"RssAnon:", &anon}, {"RssFile:", &file}} {
			if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(field.name)); ok {
				kb, err := strconv.ParseUint(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
				if err != nil {
					return 0, 0, err
				}
				*field.dst = kb << 10
				found++
			}
		}
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("no RssAnon/RssFile for pid %d", pid)
	}
	return anon, file, nil
}

// A producer much faster than its consumer drives the broker into its
// memory alarm. The queue first has no consumer, so publisher flow control
// (which paces a producer to its queue's consumers) does not hold the
// producer back and the backlog grows until the alarm blocks the
// publishing connection (connection.blocked); a consumer then starts and
// drains while the producer stays blocked. Throughout, the broker's RSS
// (anonymous memory: the store's memory-mapped files are page cache the
// kernel reclaims) stays near the watermark instead of growing with the
// backlog (transient
// messages are paged to disk under the alarm), and every message
// published is delivered in the end.
func TestMemoryWatermarkHoldsUnderFastProducer(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a broker into its memory alarm; not with -short")
	}
	const (
		watermark = 160 << 20
		slack     = 64 << 20 // one alarm check interval of a fast producer, and Go's heap goal
		bodySize  = 16 << 10
		maxBytes  = 1 << 30 // the producer stops after publishing this much, or after budget
		budget    = 30 * time.Second
	)
	c := startChild(t, "amqp", "--memory-high-watermark-absolute", strconv.Itoa(watermark))
	url := "amqp://guest:guest@" + c.addr + "/"

	setup, err := rmq.Dial(url)
	require.NoError(t, err)
	defer setup.Close()
	sch, err := setup.Channel()
	require.NoError(t, err)
	_, err = sch.QueueDeclare("backlog", false, false, false, false, nil)
	require.NoError(t, err)

	// The producer: as fast as the broker lets it.
	prod, err := rmq.Dial(url)
	require.NoError(t, err)
	defer prod.Close()
	var blockedEvents atomic.Int64
	var blockedNow atomic.Bool
	firstBlock := make(chan struct{})
	blocked := prod.NotifyBlocked(make(chan rmq.Blocking, 16))
	go func() {
		for b := range blocked {
			blockedNow.Store(b.Active)
			if b.Active && blockedEvents.Add(1) == 1 {
				close(firstBlock)
			}
		}
	}()
	pch, err := prod.Channel()
	require.NoError(t, err)

	// Sample the broker's RSS while it runs.
	var maxRSS, maxFile atomic.Uint64
	sampleCtx, stopSampling := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if anon, file, err := memOf(c.pid); err == nil {
				if anon > maxRSS.Load() {
					maxRSS.Store(anon)
				}
				if file > maxFile.Load() {
					maxFile.Store(file)
				}
			}
			select {
			case <-sampleCtx.Done():
				return
			case <-tick.C:
			}
		}
	})

	// The consumer starts once the producer has been blocked.
	var received, drainedWhileBlocked atomic.Int64
	consumerUp := make(chan *rmq.Connection, 1)
	bg.Go(func() {
		select {
		case <-firstBlock:
		case <-sampleCtx.Done():
			close(consumerUp)
			return
		}
		cons, err := rmq.Dial(url)
		if err != nil {
			t.Errorf("consumer dial: %v", err)
			close(consumerUp)
			return
		}
		consumerUp <- cons
		cch, err := cons.Channel()
		if err == nil {
			err = cch.Qos(50, 0, false)
		}
		var deliveries <-chan rmq.Delivery
		if err == nil {
			deliveries, err = cch.Consume("backlog", "", false, false, false, false, nil)
		}
		if err != nil {
			t.Errorf("consumer: %v", err)
			return
		}
		for d := range deliveries {
			received.Add(1)
			if blockedNow.Load() {
				drainedWhileBlocked.Add(1)
			}
			_ = d.Ack(false)
		}
	})

	body := bytes.Repeat([]byte("x"), bodySize)
	var published int64
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	for ctx.Err() == nil && published*bodySize < maxBytes {
		if err := pch.PublishWithContext(ctx, "", "backlog", false, false, rmq.Publishing{Body: body}); err != nil {
			break
		}
		published++
	}
	cancel()
	t.Logf("published %d messages (%d MiB); %d received meanwhile (%d while blocked); blocked %d times; max RSS %d MiB anonymous (watermark %d MiB) and %d MiB of mapped store files",
		published, published*bodySize>>20, received.Load(), drainedWhileBlocked.Load(), blockedEvents.Load(), maxRSS.Load()>>20, watermark>>20, maxFile.Load()>>20)

	require.Positive(t, blockedEvents.Load(), "the producer was never blocked by the memory alarm")
	require.Greater(t, published*bodySize, int64(watermark), "the producer did not publish more than the watermark")

	// Every message published is delivered; the RSS bound holds to the end.
	require.Eventually(t, func() bool { return received.Load() >= published }, 5*time.Minute, 50*time.Millisecond,
		"received %d of %d", received.Load(), published)
	stopSampling()
	if cons, ok := <-consumerUp; ok {
		cons.Close()
	}
	bg.Wait()
	require.Equal(t, published, received.Load())
	require.Positive(t, drainedWhileBlocked.Load(), "the consumer did not drain while publishers were blocked")
	require.LessOrEqual(t, maxRSS.Load(), uint64(watermark+slack), "broker RSS %d MiB went past the watermark", maxRSS.Load()>>20)
}
