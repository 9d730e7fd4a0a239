package core

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// pageKeep is how many ready messages each queue keeps in memory when it
// pages out: its next deliveries, served without a store read.
const pageKeep = 1000

// pageEvery is how often the pager walks the queues again while memory
// stays short (messages keep arriving, if slowly, while publishers are
// blocked: other faces, dead-lettering, requeues).
const pageEvery = time.Second

// pager moves transient messages out of memory while memory runs short.
// It owns one goroutine, started by the first SetMemoryPressure(true) and
// stopped by Broker.Close.
type pager struct {
	on   atomic.Bool
	kick chan struct{} // capacity 1: pressure came on

	mu      sync.Mutex // guards started, stopped and cancel
	started bool
	stopped bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// SetMemoryPressure tells the broker whether memory runs short (the memory
// alarm). While it does, a background pager walks every queue and moves
// the bodies of its ready transient messages to the store, keeping the
// next pageKeep of each queue in memory (queue.Queue.PageOut); it walks
// again every pageEvery while the pressure lasts. Paged messages come back
// in as they are delivered; the pressure going off pages nothing back
// eagerly. It never blocks: an alarm subscriber may call it.
func (b *Broker) SetMemoryPressure(on bool) {
	p := &b.pager
	p.on.Store(on)
	if !on {
		return
	}
	p.mu.Lock()
	if !p.started && !p.stopped {
		p.started = true
		p.kick = make(chan struct{}, 1)
		ctx, cancel := context.WithCancel(context.Background())
		p.cancel = cancel
		p.wg.Add(1)
		go b.runPager(ctx)
	}
	kick := p.kick
	p.mu.Unlock()
	if kick != nil {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
}

// runPager pages out on every kick and tick while the pressure is on.
func (b *Broker) runPager(ctx context.Context) {
	defer b.pager.wg.Done()
	t := time.NewTicker(pageEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.pager.kick:
		case <-t.C:
		}
		if b.pager.on.Load() {
			b.pageOutAll(ctx)
		}
	}
}

// pageOutAll pages out every queue of every vhost, then returns the freed
// memory to the operating system, which is what the memory alarm reads.
// Failures (a full disk refuses pages) are logged once per walk.
func (b *Broker) pageOutAll(ctx context.Context) {
	total, failed := 0, 0
	var firstErr error
	for _, v := range b.Vhosts() {
		for _, q := range v.Queues() {
			if ctx.Err() != nil || !b.pager.on.Load() {
				return
			}
			n, err := q.PageOut(ctx, pageKeep)
			total += n
			if err != nil && ctx.Err() == nil {
				if failed++; firstErr == nil {
					firstErr = fmt.Errorf("vhost %s queue %s: %w", v.Name(), q.Name(), err)
				}
			}
		}
	}
	if failed > 0 {
		b.log.Warn("memory alarm: paging out transient messages failed", "queues", failed, "err", firstErr)
	}
	if total > 0 {
		b.log.Info("memory alarm: transient messages paged out to the store", "messages", total)
		debug.FreeOSMemory()
	}
}

// stopPager stops the pager goroutine and waits for it (Close).
func (b *Broker) stopPager() {
	p := &b.pager
	p.mu.Lock()
	p.stopped = true
	cancel := p.cancel
	p.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	p.wg.Wait()
}
