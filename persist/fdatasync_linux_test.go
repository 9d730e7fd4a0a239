package persist

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// fdatasync goes through AIO on Linux (the poller waits, no thread
// blocks), concurrently from several goroutines, and reports a bad file
// as fdatasync(2) would.
func TestFdatasyncAIO(t *testing.T) {
	dir := t.TempDir()
	before := aioSyncs.Load()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			f, err := os.Create(filepath.Join(dir, string(rune('a'+i))))
			require.NoError(t, err)
			defer f.Close()
			for range 5 {
				_, err := f.Write([]byte("data"))
				require.NoError(t, err)
				require.NoError(t, fdatasync(f))
			}
		})
	}
	wg.Wait()
	require.False(t, aioOff.Load(), "AIO fell back to fdatasync(2)")
	require.EqualValues(t, 40, aioSyncs.Load()-before)

	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	require.Error(t, fdatasync(r), "a pipe cannot be synced")
	require.False(t, aioOff.Load(), "one file without AIO turned it off for all")
}
