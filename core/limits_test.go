package core

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/persist"
)

// TestMaxQueuesPerVhost checks the vhost queue limit: the declare past it
// fails with RabbitMQ's text, redeclares and passive declares still work,
// streams count, a deleted queue frees its place, and queues recovered at
// boot are never refused.
func TestMaxQueuesPerVhost(t *testing.T) {
	dir := t.TempDir()
	st, err := persist.Open(dir, persist.Options{GCInterval: -1})
	require.NoError(t, err)
	b, err := Open(Config{Store: st, Auth: auth.Options{KeyFile: filepath.Join(dir, "auth.key")}, MaxQueuesPerVhost: 2})
	require.NoError(t, err)
	v, err := b.Vhost("/")
	require.NoError(t, err)

	_, _, err = v.DeclareQueue(QueueDecl{Name: "a", Durable: true})
	require.NoError(t, err)
	_, _, err = v.DeclareStream("s", 0, 0)
	require.NoError(t, err)
	_, err = v.CreatePartitioned("kinesis", 2, 0)
	require.NoError(t, err, "a Kinesis stream is not a queue")
	_, _, err = v.DeclareQueue(QueueDecl{Name: "c"})
	require.True(t, errors.Is(err, ErrPrecondition), "got %v", err)
	require.True(t, errors.Is(err, ErrQueueLimit), "got %v", err)
	require.EqualError(t, err, "cannot declare queue 'c': queue limit in vhost '/' (2) is reached")
	_, _, err = v.DeclareStream("s2", 0, 0)
	require.EqualError(t, err, "cannot declare queue 's2': queue limit in vhost '/' (2) is reached")

	_, created, err := v.DeclareQueue(QueueDecl{Name: "a", Durable: true})
	require.NoError(t, err, "a redeclare is not a new queue")
	require.False(t, created)
	_, _, err = v.DeclareQueue(QueueDecl{Name: "a", Passive: true})
	require.NoError(t, err)

	_, err = v.DeleteQueue("a", false, false, nil)
	require.NoError(t, err)
	_, _, err = v.DeclareQueue(QueueDecl{Name: "c", Durable: true})
	require.NoError(t, err, "a deleted queue frees its place")
	closeBroker(t, b, st)

	// Recovered with a lower limit: both queues come back.
	st, err = persist.Open(dir, persist.Options{GCInterval: -1})
	require.NoError(t, err)
	b, err = Open(Config{Store: st, Auth: auth.Options{KeyFile: filepath.Join(dir, "auth.key")}, MaxQueuesPerVhost: 1})
	require.NoError(t, err)
	v, err = b.Vhost("/")
	require.NoError(t, err)
	_, err = v.Queue("c")
	require.NoError(t, err)
	_, err = v.Stream("s")
	require.NoError(t, err)
	closeBroker(t, b, st)
}
