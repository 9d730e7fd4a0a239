package persist

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/junctionmq/junction/core/store"
)

func TestEntryEncoding(t *testing.T) {
	// v1 is an entry as releases before FirstReceived wrote it.
	v1 := []byte{1, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0x30, 0x39, 3}
	tests := []struct {
		name    string
		value   []byte // decoded, when e is not given
		e       store.Entry
		wantLen int
		err     error
	}{
		{name: "version 1 decodes with FirstReceived 0", value: v1,
			e: store.Entry{Seq: 7, MsgID: 10, DeliveryCount: 4, NotBefore: 12345, Priority: 3}, wantLen: entrySize},
		{name: "never received is written as version 1",
			e: store.Entry{Seq: 7, MsgID: 10, DeliveryCount: 4, NotBefore: 12345, Priority: 3}, wantLen: entrySize},
		{name: "FirstReceived is written as version 2",
			e: store.Entry{Seq: 7, MsgID: 10, DeliveryCount: 1, NotBefore: 99, FirstReceived: 1700000000123456789}, wantLen: entrySize2},
		{name: "short value", value: v1[:entrySize-1], err: store.ErrCorrupt},
		{name: "version 2 of version 1's length", value: append([]byte{2}, v1[1:]...), err: store.ErrCorrupt},
		{name: "unknown version", value: append([]byte{3}, make([]byte, entrySize2-1)...), err: store.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.value
			if v == nil {
				v = appendEntry(nil, tt.e)
			} else if tt.err == nil && !bytes.Equal(appendEntry(nil, tt.e), v) {
				t.Fatalf("appendEntry = %v, want %v", appendEntry(nil, tt.e), v)
			}
			if tt.wantLen != 0 && len(v) != tt.wantLen {
				t.Fatalf("len = %d, want %d", len(v), tt.wantLen)
			}
			got, err := parseEntry(7, v)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err == nil && got != tt.e {
				t.Fatalf("parseEntry = %+v, want %+v", got, tt.e)
			}
		})
	}
}

func TestFirstReceivedSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, Options{})
	e := store.Entry{Seq: 1, MsgID: 5}
	if err := wait(func(d store.Done) { db.Enqueue("q", e, []byte("m"), d) }); err != nil {
		t.Fatal(err)
	}
	e.DeliveryCount, e.NotBefore, e.FirstReceived = 1, 1000, 777
	if err := wait(func(d store.Done) { db.Update("q", e, d) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openT(t, dir, Options{})
	g := messages(t, db, "q")
	if len(g) != 1 || g[0].e != e {
		t.Fatalf("after reopen: %+v, want %+v", g, e)
	}
}

// TestKeysOneAllocation: an entry key of a core queue name (vhost and
// name joined by a zero byte, which the key escapes) is one allocation.
func TestKeysOneAllocation(t *testing.T) {
	name := "/\x00orders"
	require.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _ = entryKey(name, 42) }))
	require.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _ = recordKeyDef(prefixState, "mqtt/session", "client\x01id") }))
	q, seq, ok := splitSeqKey(prefixQueue, entryKey(name, 42))
	require.True(t, ok)
	require.Equal(t, name, q)
	require.EqualValues(t, 42, seq)
}
