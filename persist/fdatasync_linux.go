package persist

import (
	"errors"
	"os"
	"syscall"
)

// fdatasync flushes f's data, and of its metadata only what reading the
// data back needs (not its times): what msync(MS_SYNC) does for a mapping.
func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if !errors.Is(err, syscall.EINTR) {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}

// Fdatasync is fdatasync for other packages (the benchmark's durable null
// broker syncs its log the way the store syncs its own).
func Fdatasync(f *os.File) error { return fdatasync(f) }
