//go:build !linux

package persist

// fileWatch is Linux's inotify watch (rotation_linux.go); elsewhere there
// is none, and rotationSync looks for new files on every commit.
type fileWatch struct{}

func openFileWatch(string) *fileWatch { return nil }

func (*fileWatch) changed() bool { return true }

func (*fileWatch) close() {}
