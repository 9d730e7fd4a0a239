package stream

import (
	"log/slog"
	"sync"
	"time"
)

// Enforce applies the stream's retention (Options.MaxAge, Options.MaxBytes)
// as of now: it trims every record older than now-MaxAge and the oldest
// records while more than MaxBytes are held, moving the first offset
// forward and asking the store to delete below it. It returns the first
// offset after trimming. Only durable records are trimmed.
func (s *Stream) Enforce(now time.Time) (uint64, error) {
	s.trimMu.Lock()
	defer s.trimMu.Unlock()
	s.mu.RLock()
	first, cumFirst, cumNext := s.first, s.cumFirst, s.cumNext
	s.mu.RUnlock()
	lim := max(first, s.durable.Load())
	to, cum := first, cumFirst
	if s.opts.MaxAge > 0 {
		cutoff := now.Add(-s.opts.MaxAge).UnixNano()
		o, c, err := s.scanTrim(lim,
			func(x *index) (mark, bool) { return x.beforeTime(cutoff) },
			func(r *Record, _ uint64) bool { return r.Arrived >= cutoff })
		if err != nil {
			return first, err
		}
		to, cum = o, c
	}
	if s.opts.MaxBytes > 0 && cumNext-cum > uint64(s.opts.MaxBytes) {
		target := cumNext - uint64(s.opts.MaxBytes)
		o, c, err := s.scanTrim(lim,
			func(x *index) (mark, bool) { return x.atOrBeforeCum(target) },
			func(_ *Record, c uint64) bool { return c >= target })
		if err != nil {
			return first, err
		}
		if o > to {
			to, cum = o, c
		}
	}
	return s.trimTo(to, cum), nil
}

// SetRetention changes the stream's retention by age and size (0 = none);
// the next Enforce applies it.
func (s *Stream) SetRetention(maxAge time.Duration, maxBytes int64) {
	s.trimMu.Lock()
	s.opts.MaxAge, s.opts.MaxBytes = maxAge, maxBytes
	s.trimMu.Unlock()
}

func (s *Stream) maxBytes() int64 {
	s.trimMu.Lock()
	defer s.trimMu.Unlock()
	return s.opts.MaxBytes
}

// scanTrim finds the first offset below lim at which keep(record, bytes
// before it) holds, or lim if none does, and the bytes before that offset.
// It starts from the index mark that seek picks, so it scans at most about
// one index interval.
func (s *Stream) scanTrim(lim uint64, seek func(*index) (mark, bool), keep func(r *Record, cum uint64) bool) (uint64, uint64, error) {
	s.mu.RLock()
	pos, cum := s.first, s.cumFirst
	if m, ok := seek(&s.idx); ok && m.off > pos && m.off <= lim {
		pos, cum = m.off, m.cum
	}
	s.mu.RUnlock()
	at := lim
	err := s.walk(pos, lim, func(r Record, _ bool) bool {
		if r.Offset != pos { // trimmed meanwhile; only Enforce trims, under trimMu
			at = pos
			return false
		}
		if keep(&r, cum) {
			at = r.Offset
			return false
		}
		cum += uint64(r.Size())
		pos++
		return true
	})
	return at, cum, err
}

// trimTo moves the first offset to off (cum bytes before it) and deletes
// the records below it from the store. It returns the new first offset.
func (s *Stream) trimTo(off, cum uint64) uint64 {
	s.mu.Lock()
	if off <= s.first {
		off = s.first
		s.mu.Unlock()
		return off
	}
	s.first, s.cumFirst = off, cum
	s.idx.dropBelow(off)
	s.tail.dropBelow(off)
	s.mu.Unlock()
	s.st.Trim(s.name, off, s.onTrim)
	s.wake()
	return off
}

// onTrim logs a failed trim; the records are retried at the next trim.
func (s *Stream) onTrim(err error) {
	if err != nil {
		slog.Warn("stream trim failed", "stream", s.name, "err", err)
	}
}

// Retainer enforces retention for many streams on one shared timer, so a
// stream costs no goroutine of its own.
type Retainer struct {
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex // guards streams
	streams map[*Stream]struct{}

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// NewRetainer returns a Retainer that, once started, runs every interval
// with clock now (time.Now if nil).
func NewRetainer(interval time.Duration, now func() time.Time) *Retainer {
	if now == nil {
		now = time.Now
	}
	return &Retainer{interval: interval, now: now, streams: map[*Stream]struct{}{}, stop: make(chan struct{})}
}

// Add registers s (Open does this when Options.Retainer is set).
func (r *Retainer) Add(s *Stream) {
	r.mu.Lock()
	r.streams[s] = struct{}{}
	r.mu.Unlock()
}

// Remove unregisters s (Stream.Close does this).
func (r *Retainer) Remove(s *Stream) {
	r.mu.Lock()
	delete(r.streams, s)
	r.mu.Unlock()
}

// RunOnce enforces retention on every registered stream now.
func (r *Retainer) RunOnce() {
	r.mu.Lock()
	list := make([]*Stream, 0, len(r.streams))
	for s := range r.streams {
		list = append(list, s)
	}
	r.mu.Unlock()
	now := r.now()
	for _, s := range list {
		if _, err := s.Enforce(now); err != nil {
			slog.Warn("stream retention failed", "stream", s.name, "err", err)
		}
	}
}

// Start runs RunOnce every interval until Close.
func (r *Retainer) Start() {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(r.interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				r.RunOnce()
			case <-r.stop:
				return
			}
		}
	}()
}

// Close stops the timer and waits for a run in progress.
func (r *Retainer) Close() {
	r.once.Do(func() { close(r.stop) })
	r.wg.Wait()
}
