//go:build !linux

package persist

import "os"

// fdatasync flushes f to disk; outside Linux, with fsync.
func fdatasync(f *os.File) error { return f.Sync() }

// Fdatasync is fdatasync for other packages (the benchmark's durable null
// broker syncs its log the way the store syncs its own).
func Fdatasync(f *os.File) error { return fdatasync(f) }
