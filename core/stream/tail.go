package stream

// tail is the bounded in-memory cache of a stream's most recent records:
// a ring of consecutive offsets, bounded by count and by bytes. The oldest
// records are evicted first. It is guarded by its Stream's mu.
type tail struct {
	buf      []Record // ring; len(buf) is the capacity in use
	head     int      // index of the oldest record
	n        int      // records held
	bytes    int      // sum of Record.Size held
	maxN     int
	maxBytes int
}

func newTail(maxN, maxBytes int) tail {
	return tail{maxN: max(maxN, 1), maxBytes: maxBytes}
}

// first returns the oldest cached offset; ok is false when empty.
func (t *tail) first() (uint64, bool) {
	if t.n == 0 {
		return 0, false
	}
	return t.buf[t.head].Offset, true
}

// at returns the cached record at off.
func (t *tail) at(off uint64) (Record, bool) {
	f, ok := t.first()
	if !ok || off < f || off-f >= uint64(t.n) {
		return Record{}, false
	}
	return t.buf[(t.head+int(off-f))%len(t.buf)], true
}

// push adds r, which must follow the newest cached record, evicting the
// oldest records past the bounds.
func (t *tail) push(r Record) {
	if t.n == len(t.buf) {
		if t.n >= t.maxN {
			t.evict()
		} else {
			t.grow()
		}
	}
	t.buf[(t.head+t.n)%len(t.buf)] = r
	t.n++
	t.bytes += r.Size()
	for t.maxBytes > 0 && t.bytes > t.maxBytes && t.n > 1 {
		t.evict()
	}
}

// grow doubles the ring up to maxN, straightening it.
func (t *tail) grow() {
	size := min(max(2*len(t.buf), 16), t.maxN)
	nb := make([]Record, size)
	for i := 0; i < t.n; i++ {
		nb[i] = t.buf[(t.head+i)%len(t.buf)]
	}
	t.buf, t.head = nb, 0
}

// evict drops the oldest record.
func (t *tail) evict() {
	r := &t.buf[t.head]
	t.bytes -= r.Size()
	*r = Record{}
	t.head = (t.head + 1) % len(t.buf)
	t.n--
}

// dropBelow evicts every record below off.
func (t *tail) dropBelow(off uint64) {
	for {
		f, ok := t.first()
		if !ok || f >= off {
			return
		}
		t.evict()
	}
}
