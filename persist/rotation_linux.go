package persist

import (
	"errors"
	"syscall"
)

// fileWatch tells whether a file may have appeared in a directory since
// it was last asked, with inotify: one read that finds the queue empty
// (EAGAIN) instead of a stat per log kind on every commit.
type fileWatch struct {
	fd  int
	buf [4096]byte
}

// openFileWatch watches dir for files created in it or moved into it. It
// returns nil when inotify is unavailable (a per-user instance limit, a
// seccomp filter): the caller then looks for new files every time.
func openFileWatch(dir string) *fileWatch {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE|syscall.IN_MOVED_TO); err != nil {
		_ = syscall.Close(fd)
		return nil
	}
	return &fileWatch{fd: fd}
}

// changed drains the event queue and reports whether it held anything: a
// creation, a move, or an overflow. A read error other than an empty
// queue also reports true, so the caller looks rather than trusts.
// The kernel queues an event before creat or rename returns, so a file
// created before a call is always reported by that call or an earlier one.
func (w *fileWatch) changed() bool {
	got := false
	for {
		n, err := syscall.Read(w.fd, w.buf[:])
		switch {
		case errors.Is(err, syscall.EAGAIN):
			return got
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil || n <= 0:
			return true
		}
		got = true
	}
}

func (w *fileWatch) close() { _ = syscall.Close(w.fd) }
