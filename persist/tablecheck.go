package persist

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/junctionmq/junction/core/store"
)

// checkTables verifies the footer of every .sst file under dir before
// Badger opens them: Badger reads footers in its own goroutines and panics
// on an impossible length, which no caller can recover. A table whose
// footer lengths do not fit, or whose index fails its CRC32C checksum, is
// reported as store.ErrCorrupt naming the file.
func checkTables(dir string) error {
	paths, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil {
		return fmt.Errorf("persist: list tables: %w", err)
	}
	for _, p := range paths {
		if err := checkTable(p); err != nil {
			return fmt.Errorf("persist: damaged file %s: %w: %v", p, store.ErrCorrupt, err)
		}
	}
	return nil
}

func checkTable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	pos := st.Size()
	read := func(n int64) ([]byte, error) {
		if n < 0 || n > pos {
			return nil, fmt.Errorf("footer length %d exceeds table (%d bytes left)", n, pos)
		}
		pos -= n
		b := make([]byte, n)
		_, err := f.ReadAt(b, pos)
		if err == io.EOF {
			err = nil
		}
		return b, err
	}
	b, err := read(4)
	if err != nil {
		return err
	}
	sum, err := read(int64(binary.BigEndian.Uint32(b)))
	if err != nil {
		return err
	}
	if b, err = read(4); err != nil {
		return err
	}
	index, err := read(int64(binary.BigEndian.Uint32(b)))
	if err != nil {
		return err
	}
	algo, want, ok := parseChecksum(sum)
	if !ok {
		return fmt.Errorf("bad checksum record")
	}
	if algo == 0 && uint64(crc32.Checksum(index, crc32.MakeTable(crc32.Castagnoli))) != want {
		return fmt.Errorf("index checksum mismatch")
	}
	return nil
}

// parseChecksum reads Badger's pb.Checksum (field 1 algo, field 2 sum, both
// varints); algo 0 is CRC32C.
func parseChecksum(b []byte) (algo, sum uint64, ok bool) {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 || tag&7 != 0 {
			return 0, 0, false
		}
		b = b[n:]
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, 0, false
		}
		b = b[n:]
		switch tag >> 3 {
		case 1:
			algo = v
		case 2:
			sum = v
		}
	}
	return algo, sum, true
}
