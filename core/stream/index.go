package stream

import "sort"

// mark is one sparse index entry: the record at off arrived at ts, and cum
// bytes of records precede it (counted from an arbitrary origin, so only
// differences of cum mean anything).
type mark struct {
	off uint64
	ts  int64
	cum uint64
}

// index is a sparse (offset, timestamp, cumulative bytes) index with one
// mark every `every` offsets. Arrival timestamps are non-decreasing, so
// both ts and cum are sorted with off and can be binary searched. It is
// guarded by its Stream's mu.
type index struct {
	every uint64
	marks []mark
}

// add records a mark if off falls on the interval.
func (x *index) add(off uint64, ts int64, cum uint64) {
	if off%x.every == 0 {
		x.marks = append(x.marks, mark{off: off, ts: ts, cum: cum})
	}
}

// beforeTime returns the last mark that arrived strictly before ts.
func (x *index) beforeTime(ts int64) (mark, bool) {
	i := sort.Search(len(x.marks), func(i int) bool { return x.marks[i].ts >= ts })
	if i == 0 {
		return mark{}, false
	}
	return x.marks[i-1], true
}

// atOrBeforeCum returns the last mark with cum <= c.
func (x *index) atOrBeforeCum(c uint64) (mark, bool) {
	i := sort.Search(len(x.marks), func(i int) bool { return x.marks[i].cum > c })
	if i == 0 {
		return mark{}, false
	}
	return x.marks[i-1], true
}

// dropBelow forgets marks below off, compacting when half the slice is dead.
func (x *index) dropBelow(off uint64) {
	i := sort.Search(len(x.marks), func(i int) bool { return x.marks[i].off >= off })
	if i == 0 {
		return
	}
	if i > cap(x.marks)/2 {
		x.marks = append(x.marks[:0:0], x.marks[i:]...)
		return
	}
	x.marks = x.marks[i:]
}
