package persist

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"syscall"

	"github.com/junctionmq/junction/core/store"
)

// Badger flattens most wrapped errors to text (y.Wrap uses %+v), so these
// classifiers look at the text as well as the chain.

// corruptMarkers are fragments of Badger's messages about damaged files.
var corruptMarkers = []string{
	"checksum", "manifest", "MANIFEST", "magic", "corrupt", "truncat",
	"failed to read", "invalid", "unexpected EOF", "while opening table",
	"while opening memtable", "out of range", "Value log truncate required",
}

// damagedFile finds a store file name in a Badger error.
var damagedFile = regexp.MustCompile(`[^\s"':]*(MANIFEST|\d+\.(sst|vlog|mem)|KEYREGISTRY|DISCARD)`)

func classifyOpenError(path string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Cannot acquire directory lock"):
		return fmt.Errorf("persist: %s is in use by another process: %w", path, store.ErrLocked)
	case errors.Is(err, fs.ErrPermission) || strings.Contains(msg, "permission denied"):
		return fmt.Errorf("persist: open %s: not writable: %w", path, err)
	case isNoSpace(err):
		return fmt.Errorf("persist: open %s: %w (%v)", path, store.ErrDiskFull, err)
	}
	for _, m := range corruptMarkers {
		if strings.Contains(msg, m) {
			file := damagedFile.FindString(msg)
			switch {
			case file == "" && strings.Contains(strings.ToLower(msg), "manifest"):
				file = path + "/MANIFEST"
			case file == "":
				file = path
			}
			return fmt.Errorf("persist: damaged file %s: %w: %v", file, store.ErrCorrupt, err)
		}
	}
	return fmt.Errorf("persist: open %s: %w", path, err)
}

// readError maps an error met while reading: damage is store.ErrCorrupt.
func readError(what string, err error) error {
	if err == nil || errors.Is(err, store.ErrCorrupt) {
		return err
	}
	msg := err.Error()
	for _, m := range corruptMarkers {
		if strings.Contains(msg, m) {
			file := damagedFile.FindString(msg)
			if file == "" {
				file = "(unknown file)"
			}
			return fmt.Errorf("persist: %s: damaged file %s: %w: %v", what, file, store.ErrCorrupt, err)
		}
	}
	return fmt.Errorf("persist: %s: %w", what, errIsClosed(err))
}

// isNoSpace reports whether err is ENOSPC (or Badger's text of it).
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), "no space left on device")
}

// writeError maps a failed batch's error for the Done callbacks.
func writeError(err error) error {
	if err == nil {
		return nil
	}
	if isNoSpace(err) {
		return fmt.Errorf("persist: write: %w (%v)", store.ErrDiskFull, err)
	}
	return fmt.Errorf("persist: write: %w", errIsClosed(err))
}
