package stream

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/junctionmq/junction/core/store"
)

// Split seals partition id and creates two children that share its range:
// the first owns [start, newStart-1], the second [newStart, end]; both name
// id as parent. As Kinesis requires, newStart must be greater than one
// plus the partition's start and less than its end. Errors are
// *PartitionError wrapping ErrPartitionNotFound, ErrPartitionSealed or
// ErrInvalidHashKey.
func (ps *Partitioned) Split(id string, newStart Uint128) (lo, hi *Partition, err error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, err := ps.splittable("split", id)
	if err != nil {
		return nil, nil, err
	}
	if newStart.Cmp(p.rng.Start.Add1()) <= 0 || newStart.Cmp(p.rng.End) >= 0 {
		return nil, nil, &PartitionError{Op: "split", Partition: id, Err: fmt.Errorf(
			"%w: %s is not both greater than one plus the starting hash key %s and less than the ending hash key %s",
			ErrInvalidHashKey, newStart, p.rng.Start, p.rng.End)}
	}
	lo = ps.newPartition(HashRange{Start: p.rng.Start, End: newStart.Sub1()}, id, "")
	hi = ps.newPartition(HashRange{Start: newStart, End: p.rng.End}, id, "")
	// Children are routable before the parent seals, so an Append that
	// finds the parent sealed finds a child on retry.
	ps.unopen(p)
	ps.install(lo)
	ps.install(hi)
	p.stream.Seal()
	return lo, hi, nil
}

// Merge seals partitions id and adjacentID, whose ranges must be adjacent,
// and creates a child owning both ranges with ParentShardId id and
// AdjacentParentShardId adjacentID. Errors are *PartitionError wrapping
// ErrPartitionNotFound, ErrPartitionSealed or ErrNotAdjacent.
func (ps *Partitioned) Merge(id, adjacentID string) (*Partition, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	a, err := ps.splittable("merge", id)
	if err != nil {
		return nil, err
	}
	b, err := ps.splittable("merge", adjacentID)
	if err != nil {
		return nil, err
	}
	var r HashRange
	switch {
	case a.rng.End.Add1() == b.rng.Start && a.rng.End != MaxHashKey:
		r = HashRange{Start: a.rng.Start, End: b.rng.End}
	case b.rng.End.Add1() == a.rng.Start && b.rng.End != MaxHashKey:
		r = HashRange{Start: b.rng.Start, End: a.rng.End}
	default:
		return nil, &PartitionError{Op: "merge", Partition: adjacentID, Err: fmt.Errorf(
			"%w: %s and %s", ErrNotAdjacent, id, adjacentID)}
	}
	c := ps.newPartition(r, id, adjacentID)
	ps.unopen(a)
	ps.unopen(b)
	ps.install(c)
	a.stream.Seal()
	b.stream.Seal()
	return c, nil
}

// splittable returns the open partition id. Call with mu held.
func (ps *Partitioned) splittable(op, id string) (*Partition, error) {
	if ps.closed {
		return nil, ErrClosed
	}
	p, ok := ps.byID[id]
	if !ok {
		return nil, &PartitionError{Op: op, Partition: id, Err: ErrPartitionNotFound}
	}
	if _, sealed := p.stream.Sealed(); sealed {
		return nil, &PartitionError{Op: op, Partition: id, Err: ErrPartitionSealed}
	}
	return p, nil
}

// Definition returns the durable description of the partitioned stream.
func (ps *Partitioned) Definition() Definition {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	d := Definition{Name: ps.name, Created: ps.created, NextID: ps.nextID, MaxAge: ps.opts.MaxAge}
	d.Partitions = make([]PartitionInfo, len(ps.parts))
	for i, p := range ps.parts {
		d.Partitions[i] = p.Info()
	}
	return d
}

// MarshalJSON encodes the Definition.
func (ps *Partitioned) MarshalJSON() ([]byte, error) { return json.Marshal(ps.Definition()) }

// Save writes the Definition to the store under DefKind. Call it after
// NewPartitioned, Split, Merge and Prune.
func (ps *Partitioned) Save() error {
	b, err := ps.MarshalJSON()
	if err != nil {
		return fmt.Errorf("stream %s: encode definition: %w", ps.name, err)
	}
	if err := ps.st.PutDef(DefKind, ps.name, b); err != nil {
		return fmt.Errorf("stream %s: save definition: %w", ps.name, err)
	}
	return nil
}

// OpenPartitioned reopens a partitioned stream from its Definition,
// recovering each partition's stream from the store. The open partitions
// must tile the hash-key space.
func OpenPartitioned(st store.Store, def Definition, opts Options) (*Partitioned, error) {
	if def.MaxAge > 0 {
		opts.MaxAge = def.MaxAge
	}
	ps := &Partitioned{st: st, name: def.Name, opts: opts, created: def.Created,
		nextID: def.NextID, byID: map[string]*Partition{}}
	if ps.opts.Now == nil {
		ps.opts.Now = time.Now
	}
	for _, in := range def.Partitions {
		if _, dup := ps.byID[in.ID]; dup || in.ID == "" {
			return nil, fmt.Errorf("%w: %s: duplicate or empty partition id %q", ErrBadDefinition, def.Name, in.ID)
		}
		o := opts
		o.Sealed = in.EndOffset != nil
		s, err := Open(st, ps.partitionKey(in.ID), o)
		if err != nil {
			ps.Close()
			return nil, err
		}
		ps.install(&Partition{id: in.ID, rng: in.Range, parent: in.Parent, adjacent: in.AdjacentParent,
			created: in.Created, stream: s})
	}
	if err := ps.checkTiling(); err != nil {
		ps.Close()
		return nil, err
	}
	return ps, nil
}

// checkTiling verifies that the open partitions cover [0, 2^128) exactly.
func (ps *Partitioned) checkTiling() error {
	want := Uint128{}
	for i, p := range ps.open {
		if p.rng.Start != want || p.rng.End.Cmp(p.rng.Start) < 0 {
			return fmt.Errorf("%w: %s: partition %s starts at %s, want %s", ErrBadDefinition, ps.name, p.id, p.rng.Start, want)
		}
		if p.rng.End == MaxHashKey {
			if i != len(ps.open)-1 {
				return fmt.Errorf("%w: %s: partitions overlap after %s", ErrBadDefinition, ps.name, p.id)
			}
			return nil
		}
		want = p.rng.End.Add1()
	}
	return fmt.Errorf("%w: %s: open partitions do not reach the top of the hash-key space", ErrBadDefinition, ps.name)
}

// Prune forgets sealed partitions that retention has emptied (Kinesis
// drops closed shards once their records expire), deletes their records
// and returns their ids. A sealed partition that never held a record goes
// once it is older than MaxAge (never when MaxAge is 0). Call Save
// afterwards.
func (ps *Partitioned) Prune() []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var gone []string
	ps.parts = slices.DeleteFunc(ps.parts, func(p *Partition) bool {
		if !ps.expired(p) {
			return false
		}
		gone = append(gone, p.id)
		delete(ps.byID, p.id)
		p.stream.Drop(p.stream.onTrim)
		return true
	})
	return gone
}

// Close closes every partition's stream (not the store).
func (ps *Partitioned) Close() {
	ps.mu.Lock()
	ps.closed = true
	parts := slices.Clone(ps.parts)
	ps.mu.Unlock()
	for _, p := range parts {
		p.stream.Close()
	}
}

// Drop closes the partitioned stream and deletes every partition's records
// (the caller deletes the definition).
func (ps *Partitioned) Drop() {
	ps.Close()
	for _, p := range ps.Partitions() {
		p.stream.Drop(p.stream.onTrim)
	}
}

// expired reports whether sealed partition p holds nothing retention would
// keep.
func (ps *Partitioned) expired(p *Partition) bool {
	end, sealed := p.stream.Sealed()
	first, _ := p.stream.Bounds()
	switch {
	case !sealed || first < end:
		return false
	case end > 0:
		return true
	}
	return ps.opts.MaxAge > 0 && ps.opts.Now().Sub(p.created) > ps.opts.MaxAge
}

// optsLocked returns the options new partitions get; ps.mu must be held.
func (ps *Partitioned) optsLocked() Options { return ps.opts }

// SetMaxAge changes the retention of every partition (Kinesis
// Increase/DecreaseStreamRetentionPeriod); the shared retention timer
// applies it. Call Save to keep it.
func (ps *Partitioned) SetMaxAge(d time.Duration) {
	ps.mu.Lock()
	ps.opts.MaxAge = d
	parts := append([]*Partition(nil), ps.parts...)
	ps.mu.Unlock()
	for _, p := range parts {
		p.stream.SetRetention(d, p.stream.maxBytes())
	}
}
