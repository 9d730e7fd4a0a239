//go:build !linux

package persist

import "os"

// fdatasync flushes f to disk; outside Linux, with fsync.
func fdatasync(f *os.File) error { return f.Sync() }
