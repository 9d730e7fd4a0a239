package stream

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/junctionmq/junction/core/store"
)

// DefKind is the store definition kind under which Save writes a
// partitioned stream's Definition (key: its name).
const DefKind = "stream-set"

// Partition is one shard of a Partitioned stream: a Stream that owns a
// contiguous range of the hash-key space while it is open.
type Partition struct {
	id       string
	rng      HashRange
	parent   string
	adjacent string
	created  time.Time
	stream   *Stream
	busy     bool // a split or merge of it is under way; guarded by Partitioned.mu
}

// ID returns the partition id, shaped like a Kinesis shard id.
func (p *Partition) ID() string { return p.id }

// Range returns the hash keys the partition owns (owned while open).
func (p *Partition) Range() HashRange { return p.rng }

// Stream returns the partition's stream.
func (p *Partition) Stream() *Stream { return p.stream }

// Info returns the partition's metadata.
func (p *Partition) Info() PartitionInfo {
	in := PartitionInfo{
		ID: p.id, Range: p.rng, Parent: p.parent, AdjacentParent: p.adjacent,
		Created: p.created,
	}
	if end, ok := p.stream.Sealed(); ok {
		in.EndOffset = &end
	}
	return in
}

// PartitionInfo is a partition's metadata, as DescribeStream needs it.
// Offsets of every partition start at 0 (StartingOffset); a sealed
// partition's records end below EndOffset.
type PartitionInfo struct {
	ID             string    `json:"ShardId"`
	Range          HashRange `json:"HashKeyRange"`
	Parent         string    `json:"ParentShardId,omitempty"`
	AdjacentParent string    `json:"AdjacentParentShardId,omitempty"`
	Created        time.Time `json:"Created"`
	StartingOffset uint64    `json:"StartingOffset"`
	EndOffset      *uint64   `json:"EndOffset,omitempty"` // nil while open
}

// Definition is the durable description of a Partitioned stream.
type Definition struct {
	Name       string          `json:"Name"`
	Created    time.Time       `json:"Created"`
	NextID     int             `json:"NextShardNumber"`
	Partitions []PartitionInfo `json:"Shards"`
	// MaxAge is the retention set with SetMaxAge (0: the Options' value).
	MaxAge time.Duration `json:"MaxAge,omitempty"`
}

// Partitioned is a set of partitions covering the 128-bit hash-key space
// (a Kinesis stream). Open partitions tile the space; Split and Merge seal
// partitions and create children that record their parents.
type Partitioned struct {
	st      store.Store
	name    string
	opts    Options
	created time.Time

	mu     sync.RWMutex // guards parts, byID, open, nextID, closed and Partition.busy
	parts  []*Partition // every partition, in creation order
	byID   map[string]*Partition
	open   []*Partition // open partitions sorted by range start
	nextID int
	closed bool
}

// PartitionID formats partition number n as Kinesis shapes shard ids.
func PartitionID(n int) string { return fmt.Sprintf("shardId-%012d", n) }

// partitionKey is the store key of a partition's stream.
func (ps *Partitioned) partitionKey(id string) string { return ps.name + "/" + id }

// NewPartitioned creates a partitioned stream with n partitions that split
// the hash-key space evenly (EvenRanges). It does no I/O beyond queuing
// DropStream for each new partition; the caller persists the definition
// (Save).
func NewPartitioned(st store.Store, name string, n int, opts Options) (*Partitioned, error) {
	rs, err := EvenRanges(n)
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ps := &Partitioned{st: st, name: name, opts: opts, created: opts.Now().UTC(), byID: map[string]*Partition{}}
	for _, r := range rs {
		ps.install(ps.newPartition(r, "", ""))
	}
	return ps, nil
}

// newPartition creates an empty partition with the next id. Call with mu
// held (or before ps is shared).
func (ps *Partitioned) newPartition(r HashRange, parent, adjacent string) *Partition {
	id := PartitionID(ps.nextID)
	ps.nextID++
	return &Partition{
		id: id, rng: r, parent: parent, adjacent: adjacent, created: ps.opts.Now().UTC(),
		stream: Create(ps.st, ps.partitionKey(id), ps.optsLocked()),
	}
}

// install adds p to the set, and to the open list unless sealed. Call with
// mu held.
func (ps *Partitioned) install(p *Partition) {
	ps.parts = append(ps.parts, p)
	ps.byID[p.id] = p
	if _, sealed := p.stream.Sealed(); !sealed {
		i := sort.Search(len(ps.open), func(i int) bool { return ps.open[i].rng.Start.Cmp(p.rng.Start) > 0 })
		ps.open = append(ps.open, nil)
		copy(ps.open[i+1:], ps.open[i:])
		ps.open[i] = p
	}
}

// unopen removes p from the open list. Call with mu held.
func (ps *Partitioned) unopen(p *Partition) {
	for i, q := range ps.open {
		if q == p {
			ps.open = append(ps.open[:i], ps.open[i+1:]...)
			return
		}
	}
}

// Name returns the partitioned stream's name.
func (ps *Partitioned) Name() string { return ps.name }

// PartitionFor returns the open partition that owns hash key k.
func (ps *Partitioned) PartitionFor(k Uint128) (*Partition, error) {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	if ps.closed {
		return nil, ErrClosed
	}
	i := sort.Search(len(ps.open), func(i int) bool { return ps.open[i].rng.End.Cmp(k) >= 0 })
	if i == len(ps.open) || !ps.open[i].rng.Contains(k) {
		return nil, fmt.Errorf("%w: no open partition owns hash key %s", ErrPartitionNotFound, k)
	}
	return ps.open[i], nil
}

// Append appends to the partition that owns k, retrying if that partition
// is sealed by a concurrent split or merge. It returns the partition and
// the record's offset in it.
func (ps *Partitioned) Append(k Uint128, kind Kind, data []byte, done store.Done) (*Partition, uint64, error) {
	for try := 0; ; try++ {
		p, err := ps.PartitionFor(k)
		if err != nil {
			return nil, 0, err
		}
		off, err := p.stream.Append(kind, data, done)
		// Children are installed before the parent seals, so one retry
		// normally suffices; a few cover back-to-back splits.
		if errors.Is(err, ErrSealed) && try < 8 {
			continue
		}
		return p, off, err
	}
}

// Partition returns the partition with id.
func (ps *Partitioned) Partition(id string) (*Partition, error) {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	p, ok := ps.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrPartitionNotFound, id)
	}
	return p, nil
}

// Partitions returns every partition, open and sealed, in creation order.
func (ps *Partitioned) Partitions() []*Partition {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	return append([]*Partition(nil), ps.parts...)
}

// OpenPartitions returns the open partitions in hash-key order.
func (ps *Partitioned) OpenPartitions() []*Partition {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	return append([]*Partition(nil), ps.open...)
}
