//go:build unix

package persist

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/junctionmq/junction/core/store"
)

// lockDir takes an exclusive advisory lock on dir/LOCK. flock locks belong
// to the open file, so a second Open in the same process is refused too.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "LOCK")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("persist: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("persist: data directory %q is in use (lock %s held): %w", dir, path, store.ErrLocked)
		}
		return nil, fmt.Errorf("persist: lock %s: %w", path, err)
	}
	return f, nil
}

func unlockDir(f *os.File) {
	if f == nil {
		return
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	_ = f.Close()
}
