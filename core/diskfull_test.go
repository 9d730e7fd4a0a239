package core

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/persist"
	"github.com/stretchr/testify/require"
)

// mountTmpfs mounts a tmpfs of size bytes at a new directory, or skips the
// test where mounting is not allowed (not root, no mount namespace).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a small filesystem here: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

func resizeTmpfs(t *testing.T, dir string, size int) {
	t.Helper()
	out, err := exec.Command("mount", "-o", "remount,size="+strconv.Itoa(size), dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// TestDiskFullRefusesAndRecovers fills a small filesystem with persistent
// messages: publishes that need the disk are nacked once it is full,
// nothing confirmed is lost, and publishing works again once space returns.
func TestDiskFullRefusesAndRecovers(t *testing.T) {
	if testing.Short() || os.Getuid() != 0 {
		t.Skip("needs root to mount a small filesystem")
	}
	mnt := mountTmpfs(t, 64<<20)
	dir := filepath.Join(mnt, "data")
	opts := persist.Options{GCInterval: -1, ValueLogFileSize: 8 << 20, MemTableSize: 4 << 20, ValueThreshold: 1 << 10,
		DiskFreeLimit: 24 << 20}
	st, err := persist.Open(dir, opts)
	require.NoError(t, err)
	b, err := Open(Config{Store: st, Auth: auth.Options{KeyFile: filepath.Join(dir, "auth.key")}})
	require.NoError(t, err)
	v, _ := b.Vhost("/")
	_, _, err = v.DeclareQueue(QueueDecl{Name: "full", Durable: true})
	require.NoError(t, err)

	body := string(make([]byte, 32<<10))
	confirmed := 0
	publish := func() bool {
		acks := make(chan bool, 1)
		m := msg("", "full", body, true)
		m.Props.MessageID = strconv.Itoa(confirmed)
		_, err := v.Publish(m, func(ack bool) { acks <- ack })
		require.NoError(t, err)
		return <-acks
	}
	for i := 0; i < 4096 && publish(); i++ {
		confirmed++
	}
	require.Greater(t, confirmed, 10)
	require.Less(t, confirmed, 4096, "the filesystem never filled")
	t.Logf("%d messages confirmed before the disk filled", confirmed)

	// Space returns: publishing works again.
	resizeTmpfs(t, mnt, 256<<20)
	require.Eventually(t, publish, 10e9, 1e8, "publishing did not recover")
	confirmed++
	require.NoError(t, b.Close())
	require.NoError(t, st.Close())

	// Every confirmed message survived.
	st, err = persist.Open(dir, opts)
	require.NoError(t, err)
	b, err = Open(Config{Store: st, Auth: auth.Options{KeyFile: filepath.Join(dir, "auth.key")}})
	require.NoError(t, err)
	defer closeBroker(t, b, st)
	v, _ = b.Vhost("/")
	q, err := v.Queue("full")
	require.NoError(t, err)
	require.GreaterOrEqual(t, q.Stats().Ready, confirmed)
}
