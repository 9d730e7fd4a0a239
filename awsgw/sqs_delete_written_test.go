package awsgw

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/store"
	"github.com/junctionmq/junction/persist"
)

// lazyRemoves is a store whose removes submitted without a done callback
// count as pending (not yet written) until the next Written or Flush, as
// they are in persist's group commit: a kill -9 in between brings the
// message back. It counts the Flushes, which a delete need not wait for.
type lazyRemoves struct {
	store.Store
	mu      sync.Mutex // guards pending and flushes
	pending int
	flushes int
}

func (s *lazyRemoves) Remove(queue string, seq uint64, done store.Done) {
	if done == nil {
		s.mu.Lock()
		s.pending++
		s.mu.Unlock()
	}
	s.Store.Remove(queue, seq, done)
}

func (s *lazyRemoves) Flush() error {
	s.mu.Lock()
	s.pending = 0
	s.flushes++
	s.mu.Unlock()
	return s.Store.Flush()
}

func (s *lazyRemoves) Written() error {
	s.mu.Lock()
	s.pending = 0
	s.mu.Unlock()
	return s.Store.(store.WrittenWaiter).Written()
}

func (s *lazyRemoves) unwritten() (pending, flushes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending, s.flushes
}

// TestDeleteWrittenBeforeSuccess: DeleteMessage and DeleteMessageBatch
// answer success only once the delete is written to the store (which a
// SIGKILL keeps), without waiting for its sync. Found by the crash suite
// (crash/): deleted messages came back after a SIGKILL when the answer
// came before the write.
func TestDeleteWrittenBeforeSuccess(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	db, err := persist.Open("", persist.Options{InMemory: true, GCInterval: -1})
	require.NoError(t, err)
	st := &lazyRemoves{Store: db}
	b, err := core.Open(core.Config{Store: st, Auth: auth.Options{KeyFile: filepath.Join(t.TempDir(), "auth.key")}})
	require.NoError(t, err)
	srv, err := New(b, Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()); _ = b.Close(); _ = db.Close() })
	e := &testEnv{b: b, srv: srv, url: "http://" + ln.Addr().String()}
	c := e.client(t, "test", "test")
	ctx := context.Background()

	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("durable-delete")})
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("m")})
		require.NoError(t, err)
	}
	got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 3})
	require.NoError(t, err)
	require.Len(t, got.Messages, 3)

	_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: got.Messages[0].ReceiptHandle})
	require.NoError(t, err)
	pending, flushes := st.unwritten()
	require.Zero(t, pending, "DeleteMessage answered before its delete was written")
	require.Zero(t, flushes, "DeleteMessage waited for a sync")

	entries := []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("1"), ReceiptHandle: got.Messages[1].ReceiptHandle},
		{Id: aws.String("2"), ReceiptHandle: got.Messages[2].ReceiptHandle},
	}
	out, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: q.QueueUrl, Entries: entries})
	require.NoError(t, err)
	require.Len(t, out.Successful, 2)
	pending, flushes = st.unwritten()
	require.Zero(t, pending, "DeleteMessageBatch answered before its deletes were written")
	require.Zero(t, flushes, "DeleteMessageBatch waited for a sync")
}
