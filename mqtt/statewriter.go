package mqtt

import (
	"log/slog"
	"sync"

	"github.com/junctionmq/junction/core/store"
)

// stateWriter applies MQTT state writes to the store in the background, in
// batches, keeping only the last write of each key: a QoS 1 exchange with
// an online client stores and removes its in-flight record, and when both
// meet in one batch neither reaches the disk. Hooks therefore never wait for
// the disk; Flush waits for everything submitted so far.
//
// A batch is one group-committed store write (store.StateBatcher).
type stateWriter struct {
	st  store.Store
	log *slog.Logger

	mu      sync.Mutex // guards pending, busy, closed
	pending map[stateKey]stateVal
	busy    bool
	closed  bool
	idle    *sync.Cond // signalled when a batch is done

	wake chan struct{} // cap 1
	done chan struct{} // closed when the loop ends
}

type stateKey struct{ ns, key string }

type stateVal struct {
	val []byte
	del bool
}

func newStateWriter(st store.Store, log *slog.Logger) *stateWriter {
	w := &stateWriter{st: st, log: log, pending: map[stateKey]stateVal{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.idle = sync.NewCond(&w.mu)
	go w.loop()
	return w
}

// put queues a write of key in ns.
func (w *stateWriter) put(ns, key string, val []byte) {
	w.submit(stateKey{ns, key}, stateVal{val: val})
}

// del queues a delete of key in ns.
func (w *stateWriter) del(ns, key string) { w.submit(stateKey{ns, key}, stateVal{del: true}) }

func (w *stateWriter) submit(k stateKey, v stateVal) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.log.Warn("mqtt state write after close", "ns", k.ns, "key", k.key)
		return
	}
	w.pending[k] = v
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *stateWriter) loop() {
	defer close(w.done)
	for range w.wake {
		w.mu.Lock()
		batch := w.pending
		w.pending = map[stateKey]stateVal{}
		w.busy = true
		closed := w.closed
		w.mu.Unlock()

		w.apply(batch)

		w.mu.Lock()
		w.busy = false
		w.idle.Broadcast()
		w.mu.Unlock()
		if closed {
			return
		}
	}
}

// apply writes a batch: in one group-committed store batch when the store
// is a StateBatcher, else record by record. Deletes of pending copies go
// last, after the in-flight records that replace them, so that a crash
// keeps the copy or its record.
func (w *stateWriter) apply(batch map[stateKey]stateVal) {
	ops := make([]store.StateOp, 0, len(batch))
	var last []store.StateOp
	for k, v := range batch {
		o := store.StateOp{NS: k.ns, Key: k.key, Val: v.val, Delete: v.del}
		if k.ns == nsPending {
			last = append(last, o)
		} else {
			ops = append(ops, o)
		}
	}
	ops = append(ops, last...)
	sb, ok := w.st.(store.StateBatcher)
	if !ok {
		if err := applyStates(w.st, ops); err != nil {
			w.log.Error("mqtt state write failed", "error", err)
		}
		return
	}
	ch := make(chan error, 1)
	sb.PutStates(ops, func(err error) { ch <- err })
	if err := <-ch; err != nil {
		w.log.Error("mqtt state write failed", "records", len(ops), "error", err)
	}
}

// flush waits until every write submitted before it is applied.
func (w *stateWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for (len(w.pending) > 0 || w.busy) && !w.closedAndDone() {
		if len(w.pending) > 0 {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
		w.idle.Wait()
	}
}

// closedAndDone reports whether the loop has ended (w.mu held).
func (w *stateWriter) closedAndDone() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// close applies what is pending and stops the loop.
func (w *stateWriter) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.done
}
