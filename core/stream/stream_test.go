package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// smallOpts keeps the cache and index small so reads reach the store.
func smallOpts(c *fakeClock) Options {
	return Options{Now: c.Now, CacheRecords: 8, IndexInterval: 4}
}

func appendN(t testing.TB, s *Stream, n int, step time.Duration, c *fakeClock) {
	t.Helper()
	for i := 0; i < n; i++ {
		_, err := s.Append(KindRaw, []byte(fmt.Sprintf("r%03d", i)), nil)
		must.NoError(t, err)
		if c != nil {
			c.Advance(step)
		}
	}
}

func readAll(t testing.TB, s *Stream, from uint64) []Record {
	t.Helper()
	recs, _, err := s.Read(from, 0, 0)
	must.NoError(t, err)
	return recs
}

func TestAppendDenseAcrossRecovery(t *testing.T) {
	st, c := newFakeStore(), &fakeClock{t: 1e9}
	s, err := Open(st, "q", smallOpts(c))
	must.NoError(t, err)
	for i := 0; i < 30; i++ {
		off, err := s.Append(KindMessage, []byte{byte(i)}, nil)
		must.NoError(t, err)
		must.Equal(t, uint64(i), off)
	}
	s.Close()

	s, err = Open(st, "q", smallOpts(c))
	must.NoError(t, err)
	first, next := s.Bounds()
	check.Equal(t, uint64(0), first)
	check.Equal(t, uint64(30), next)
	off, err := s.Append(KindRaw, []byte("x"), nil)
	must.NoError(t, err)
	check.Equal(t, uint64(30), off)
	recs := readAll(t, s, 0)
	must.Len(t, recs, 31)
	for i, r := range recs {
		check.Equal(t, uint64(i), r.Offset)
	}
	check.Equal(t, KindMessage, recs[0].Kind)
	check.Equal(t, []byte{29}, recs[29].Data)
	check.Equal(t, int64(31), s.Bytes())

	// The timestamp index survives recovery.
	got, err := s.SeekTime(time.Unix(0, 1e9))
	must.NoError(t, err)
	check.Equal(t, uint64(0), got)
}

func TestDurableBeforeVisible(t *testing.T) {
	st := newFakeStore()
	st.manual = true
	s, err := Open(st, "q", Options{})
	must.NoError(t, err)
	var dones []error
	for i := 0; i < 3; i++ {
		_, err := s.Append(KindRaw, []byte("x"), func(err error) { dones = append(dones, err) })
		must.NoError(t, err)
	}
	check.Empty(t, readAll(t, s, 0), "nothing readable before the commit")
	check.Empty(t, dones)
	check.Equal(t, 3, st.flush(), "one group commit")
	check.Equal(t, []error{nil, nil, nil}, dones)
	check.Len(t, readAll(t, s, 0), 3)
}

func TestAppendFailureStopsStream(t *testing.T) {
	st := newFakeStore()
	boom := errors.New("disk on fire")
	st.failAt = map[uint64]error{1: boom}
	s, err := Open(st, "q", Options{})
	must.NoError(t, err)
	var got error
	_, err = s.Append(KindRaw, []byte("a"), nil)
	must.NoError(t, err)
	_, err = s.Append(KindRaw, []byte("b"), func(err error) { got = err })
	must.NoError(t, err)
	check.ErrorIs(t, got, boom)
	_, err = s.Append(KindRaw, []byte("c"), nil)
	check.ErrorIs(t, err, ErrFailed)
	check.ErrorIs(t, err, boom)
	_, next := s.Bounds()
	check.Equal(t, uint64(1), next)
}

func TestReadStarts(t *testing.T) {
	st, c := newFakeStore(), &fakeClock{t: 1e9}
	s, err := Open(st, "q", smallOpts(c))
	must.NoError(t, err)
	appendN(t, s, 20, time.Second, c)
	tests := []struct {
		name string
		sp   Start
		want uint64
	}{
		{"first", Start{Kind: StartFirst}, 0},
		{"last", Start{Kind: StartLast}, 19},
		{"next", Start{Kind: StartNext}, 20},
		{"offset", Start{Kind: StartOffset, Offset: 7}, 7},
		{"offset past end", Start{Kind: StartOffset, Offset: 99}, 20},
		{"time exact", Start{Kind: StartTime, Time: time.Unix(6, 0)}, 5},
		{"time between", Start{Kind: StartTime, Time: time.Unix(6, 5e8)}, 6},
		{"time before all", Start{Kind: StartTime, Time: time.Unix(0, 0)}, 0},
		{"time after all", Start{Kind: StartTime, Time: time.Unix(100, 0)}, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := s.NewReader(tt.sp)
			must.NoError(t, err)
			check.Equal(t, tt.want, r.Position())
			recs, err := r.Read(3, 0)
			must.NoError(t, err)
			if tt.want < 20 {
				must.NotEmpty(t, recs)
				check.Equal(t, tt.want, recs[0].Offset)
				check.Equal(t, fmt.Sprintf("r%03d", tt.want), string(recs[0].Data))
			} else {
				check.Empty(t, recs)
			}
		})
	}
	_, err = s.NewReader(Start{Kind: 42})
	check.ErrorIs(t, err, ErrInvalidStart)
}

func TestReadLimits(t *testing.T) {
	st := newFakeStore()
	s, err := Open(st, "q", Options{CacheRecords: 4})
	must.NoError(t, err)
	appendN(t, s, 10, 0, nil) // 4 bytes each
	recs, next, err := s.Read(0, 3, 0)
	must.NoError(t, err)
	check.Len(t, recs, 3)
	check.Equal(t, uint64(3), next)
	recs, next, err = s.Read(3, 0, 10) // store then cache, 2 records fit
	must.NoError(t, err)
	check.Len(t, recs, 2)
	check.Equal(t, uint64(5), next)
	recs, _, err = s.Read(5, 0, 1) // at least one record
	must.NoError(t, err)
	check.Len(t, recs, 1)
	recs, next, err = s.Read(4, 0, 0) // spans store and cache
	must.NoError(t, err)
	check.Len(t, recs, 6)
	check.Equal(t, uint64(10), next)
}

func TestSeekTimeLarge(t *testing.T) {
	st, c := newFakeStore(), &fakeClock{t: 0}
	s, err := Open(st, "q", Options{Now: c.Now, CacheRecords: 16, IndexInterval: 16})
	must.NoError(t, err)
	for i := 0; i < 1000; i++ {
		_, err := s.Append(KindRaw, []byte{1}, nil)
		must.NoError(t, err)
		if i%3 == 2 { // three records share each millisecond
			c.Advance(time.Millisecond)
		}
	}
	for _, ms := range []int64{0, 1, 17, 100, 332, 333, 334} {
		got, err := s.SeekTime(time.Unix(0, ms*1e6))
		must.NoError(t, err)
		check.Equal(t, uint64(min(ms*3, 1000)), got, "ms %d", ms)
	}
}

func TestWaitWokenByAppend(t *testing.T) {
	st := newFakeStore()
	st.manual = true
	s, err := Open(st, "q", Options{})
	must.NoError(t, err)
	r, err := s.NewReader(Start{Kind: StartNext})
	must.NoError(t, err)
	woke := make(chan error, 1)
	go func() { woke <- r.Wait(context.Background()) }()
	_, err = s.Append(KindRaw, []byte("x"), nil)
	must.NoError(t, err)
	select {
	case err := <-woke:
		t.Fatalf("woke before the record was durable: %v", err)
	case <-time.After(10 * time.Millisecond):
	}
	st.flush()
	must.NoError(t, <-woke)
	recs, err := r.Read(0, 0)
	must.NoError(t, err)
	check.Len(t, recs, 1)

	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	check.ErrorIs(t, r.Wait(ctx), context.DeadlineExceeded)

	go func() { woke <- r.Wait(context.Background()) }()
	s.Seal()
	check.ErrorIs(t, <-woke, ErrSealed)
}

func TestSeal(t *testing.T) {
	st := newFakeStore()
	s, err := Open(st, "q", Options{})
	must.NoError(t, err)
	appendN(t, s, 3, 0, nil)
	end := s.Seal()
	check.Equal(t, uint64(3), end)
	check.Equal(t, uint64(3), s.Seal(), "idempotent")
	_, err = s.Append(KindRaw, nil, nil)
	check.ErrorIs(t, err, ErrSealed)
	got, ok := s.Sealed()
	check.True(t, ok)
	check.Equal(t, uint64(3), got)
	check.Len(t, readAll(t, s, 0), 3, "sealed streams stay readable")
	check.ErrorIs(t, s.Wait(context.Background(), 3), ErrSealed)

	s, err = Open(st, "q", Options{Sealed: true})
	must.NoError(t, err)
	_, err = s.Append(KindRaw, nil, nil)
	check.ErrorIs(t, err, ErrSealed)
	s.Close()
	check.ErrorIs(t, s.Wait(context.Background(), 3), ErrClosed)
}

func TestRetentionByAge(t *testing.T) {
	st, c := newFakeStore(), &fakeClock{t: 0}
	opts := smallOpts(c)
	opts.MaxAge = 10 * time.Second
	s, err := Open(st, "q", opts)
	must.NoError(t, err)
	appendN(t, s, 30, time.Second, c) // record i arrived at i seconds; now = 30s
	r, err := s.NewReader(Start{Kind: StartFirst})
	must.NoError(t, err)

	first, err := s.Enforce(c.Now())
	must.NoError(t, err)
	check.Equal(t, uint64(20), first, "records older than 10s are gone")
	f, _, _ := st.StreamBounds("q")
	check.Equal(t, uint64(20), f, "store trimmed")

	recs, err := r.Read(1, 0)
	must.NoError(t, err)
	must.Len(t, recs, 1)
	check.Equal(t, uint64(20), recs[0].Offset, "TRIM_HORIZON: the first available")
	check.Equal(t, uint64(20), r.Skipped())

	c.Advance(time.Hour)
	first, err = s.Enforce(c.Now())
	must.NoError(t, err)
	check.Equal(t, uint64(30), first)
	recs, err = r.Read(0, 0)
	must.NoError(t, err)
	check.Empty(t, recs)
	check.Equal(t, uint64(30), r.Position())
	check.Equal(t, int64(0), s.Bytes())
	off, err := s.Append(KindRaw, []byte("new"), nil)
	must.NoError(t, err)
	check.Equal(t, uint64(30), off, "offsets continue after a full trim")
}

func TestRetentionBySize(t *testing.T) {
	st := newFakeStore()
	s, err := Open(st, "q", Options{MaxBytes: 40, CacheRecords: 8, IndexInterval: 4})
	must.NoError(t, err)
	appendN(t, s, 25, 0, nil) // 4 bytes each = 100 bytes
	first, err := s.Enforce(time.Now())
	must.NoError(t, err)
	check.Equal(t, uint64(15), first)
	check.Equal(t, int64(40), s.Bytes())
	recs := readAll(t, s, 0)
	must.Len(t, recs, 10)
	check.Equal(t, uint64(15), recs[0].Offset)

	// Reopen: bytes are recounted from the store.
	s, err = Open(st, "q", Options{MaxBytes: 40})
	must.NoError(t, err)
	check.Equal(t, int64(40), s.Bytes())
	first, _ = s.Bounds()
	check.Equal(t, uint64(15), first)
}

func TestRetainerSharedTimer(t *testing.T) {
	st, c := newFakeStore(), &fakeClock{t: 0}
	ret := NewRetainer(time.Hour, c.Now)
	defer ret.Close()
	var ss []*Stream
	for i := 0; i < 3; i++ {
		s, err := Open(st, fmt.Sprint("s", i), Options{Now: c.Now, MaxAge: time.Minute, Retainer: ret})
		must.NoError(t, err)
		appendN(t, s, 5, 0, nil)
		ss = append(ss, s)
	}
	ss[2].Close() // unregistered
	c.Advance(2 * time.Minute)
	ret.RunOnce()
	for i, s := range ss {
		first, _ := s.Bounds()
		check.Equal(t, map[bool]uint64{true: 5, false: 0}[i < 2], first, "stream %d", i)
	}
	ret.Start()
}

func TestConcurrentReadersAndAppenders(t *testing.T) {
	st := newFakeStore()
	st.manual = true
	s, err := Open(st, "q", Options{CacheRecords: 64, IndexInterval: 8})
	must.NoError(t, err)
	const writers, per, readers = 4, 300, 3
	total := uint64(writers * per)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	stop := make(chan struct{})
	var flusher sync.WaitGroup
	flusher.Add(1)
	go func() { // the store's writer: group-commits whatever is queued
		defer flusher.Done()
		for {
			select {
			case <-stop:
				st.flush()
				return
			default:
				if st.flush() == 0 {
					time.Sleep(50 * time.Microsecond)
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if _, err := s.Append(KindRaw, []byte{byte(w)}, nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	errs := make(chan error, readers)
	for i := 0; i < readers; i++ {
		go func() { errs <- readUntil(ctx, s, total) }()
	}
	wg.Wait()
	for i := 0; i < readers; i++ {
		must.NoError(t, <-errs)
	}
	close(stop)
	flusher.Wait()
}

// readUntil reads from the first offset until n records, checking order.
func readUntil(ctx context.Context, s *Stream, n uint64) error {
	r, err := s.NewReader(Start{Kind: StartFirst})
	if err != nil {
		return err
	}
	want := uint64(0)
	for want < n {
		recs, err := r.Read(50, 0)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if rec.Offset != want {
				return fmt.Errorf("got offset %d, want %d", rec.Offset, want)
			}
			want++
		}
		if len(recs) == 0 {
			if err := r.Wait(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func TestBadRecordAndGap(t *testing.T) {
	st := newFakeStore()
	st.streams["bad"] = map[uint64][]byte{0: {9, 9}}
	_, err := Open(st, "bad", Options{})
	check.ErrorIs(t, err, ErrBadRecord)
	enc, _ := encodeRecord(0, 1, KindRaw, nil)
	enc2, _ := encodeRecord(2, 1, KindRaw, nil)
	st.streams["gap"] = map[uint64][]byte{0: enc, 2: enc2}
	_, err = Open(st, "gap", Options{})
	check.ErrorIs(t, err, ErrGap)
}
