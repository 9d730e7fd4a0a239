package stream

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

func mustKey(t testing.TB, s string) Uint128 {
	t.Helper()
	k, err := ParseHashKey(s)
	must.NoError(t, err)
	return k
}

func TestHashKeyForMD5(t *testing.T) {
	tests := []struct{ key, want string }{
		{"", "281949768489412648962353822266799178366"},
		{"a", "16955237001963240173058271559858726497"},
		{"partitionKey-1", "159499196025307651934328298402289840726"},
		{"hello world", "125893641179230474042701625388361764291"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			check.Equal(t, tt.want, HashKeyFor(tt.key).String())
		})
	}
}

func TestParseHashKey(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"0", true},
		{"340282366920938463463374607431768211455", true},
		{"340282366920938463463374607431768211456", false},
		{"999999999999999999999999999999999999999", false},
		{"1000000000000000000000000000000000000000", false},
		{"", false},
		{"-1", false},
		{"12a", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			k, err := ParseHashKey(tt.in)
			if !tt.ok {
				check.ErrorIs(t, err, ErrInvalidHashKey)
				return
			}
			must.NoError(t, err)
			check.Equal(t, tt.in, k.String())
		})
	}
	check.Equal(t, MaxHashKey, mustKey(t, "340282366920938463463374607431768211455"))
}

func TestEvenRangesMatchAWS(t *testing.T) {
	tests := map[int][][2]string{
		1: {{"0", "340282366920938463463374607431768211455"}},
		2: {{"0", "170141183460469231731687303715884105727"},
			{"170141183460469231731687303715884105728", "340282366920938463463374607431768211455"}},
		3: {{"0", "113427455640312821154458202477256070484"},
			{"113427455640312821154458202477256070485", "226854911280625642308916404954512140969"},
			{"226854911280625642308916404954512140970", "340282366920938463463374607431768211455"}},
		4: {{"0", "85070591730234615865843651857942052863"},
			{"85070591730234615865843651857942052864", "170141183460469231731687303715884105727"},
			{"170141183460469231731687303715884105728", "255211775190703847597530955573826158591"},
			{"255211775190703847597530955573826158592", "340282366920938463463374607431768211455"}},
	}
	for n, want := range tests {
		rs, err := EvenRanges(n)
		must.NoError(t, err)
		must.Len(t, rs, n)
		for i, r := range rs {
			check.Equal(t, want[i][0], r.Start.String(), "n=%d shard %d start", n, i)
			check.Equal(t, want[i][1], r.End.String(), "n=%d shard %d end", n, i)
		}
	}
	_, err := EvenRanges(0)
	check.ErrorIs(t, err, ErrInvalidCount)
}

func TestPartitionForRouting(t *testing.T) {
	ps, err := NewPartitioned(newFakeStore(), "k", 2, Options{})
	must.NoError(t, err)
	// MD5("a") is below 2^127, MD5("") above.
	p, err := ps.PartitionFor(HashKeyFor("a"))
	must.NoError(t, err)
	check.Equal(t, "shardId-000000000000", p.ID())
	p, err = ps.PartitionFor(HashKeyFor(""))
	must.NoError(t, err)
	check.Equal(t, "shardId-000000000001", p.ID())
	for _, k := range []string{"170141183460469231731687303715884105727", "170141183460469231731687303715884105728"} {
		p, err := ps.PartitionFor(mustKey(t, k))
		must.NoError(t, err)
		check.True(t, p.Range().Contains(mustKey(t, k)))
	}
	p, off, err := ps.Append(HashKeyFor("a"), KindRaw, []byte("x"), nil)
	must.NoError(t, err)
	check.Equal(t, "shardId-000000000000", p.ID())
	check.Equal(t, uint64(0), off)
}

func TestSplitMergeLineage(t *testing.T) {
	st, c := newFakeStore(), &fakeClock{t: 5e9}
	ps, err := NewPartitioned(st, "k", 2, Options{Now: c.Now})
	must.NoError(t, err)
	_, _, err = ps.Append(MaxHashKey, KindRaw, []byte("before"), nil)
	must.NoError(t, err)

	mid := mustKey(t, "255211775190703847597530955573826158592")
	lo, hi, err := ps.Split("shardId-000000000001", mid)
	must.NoError(t, err)
	check.Equal(t, "shardId-000000000002", lo.ID())
	check.Equal(t, "shardId-000000000003", hi.ID())
	check.Equal(t, "shardId-000000000001", lo.Info().Parent)
	check.Equal(t, "170141183460469231731687303715884105728", lo.Range().Start.String())
	check.Equal(t, "255211775190703847597530955573826158591", lo.Range().End.String())
	check.Equal(t, mid, hi.Range().Start)
	parent, _ := ps.Partition("shardId-000000000001")
	end := parent.Info().EndOffset
	must.True(t, end != nil, "parent sealed")
	check.Equal(t, uint64(1), *end)
	check.Len(t, readAll(t, parent.Stream(), 0), 1, "sealed parent stays readable")

	p, _, err := ps.Append(MaxHashKey, KindRaw, []byte("after"), nil)
	must.NoError(t, err)
	check.Equal(t, hi.ID(), p.ID())

	m, err := ps.Merge("shardId-000000000000", lo.ID())
	must.NoError(t, err)
	check.Equal(t, "shardId-000000000004", m.ID())
	check.Equal(t, "shardId-000000000000", m.Info().Parent)
	check.Equal(t, lo.ID(), m.Info().AdjacentParent)
	check.Equal(t, Uint128{}, m.Range().Start)
	check.Equal(t, lo.Range().End, m.Range().End)
	check.Len(t, ps.OpenPartitions(), 2)
	check.Len(t, ps.Partitions(), 5)

	errs := []struct {
		name string
		err  error
		want error
	}{
		{"split sealed", second(ps.Split("shardId-000000000001", mid)), ErrPartitionSealed},
		{"merge sealed", second(ps.Merge("shardId-000000000000", hi.ID())), ErrPartitionSealed},
		{"split unknown", second(ps.Split("shardId-000000000099", mid)), ErrPartitionNotFound},
		{"split at start+1", second(ps.Split(hi.ID(), mid.Add1())), ErrInvalidHashKey},
		{"split at end", second(ps.Split(hi.ID(), MaxHashKey)), ErrInvalidHashKey},
		{"merge self", second(ps.Merge(hi.ID(), hi.ID())), ErrNotAdjacent},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			check.ErrorIs(t, tt.err, tt.want)
			_, typed := tt.err.(*PartitionError)
			check.True(t, typed, "typed error, got %T", tt.err)
		})
	}
	ps2, _ := NewPartitioned(newFakeStore(), "k2", 3, Options{})
	_, err = ps2.Merge("shardId-000000000000", "shardId-000000000002")
	check.ErrorIs(t, err, ErrNotAdjacent)
	_, err = ps2.Merge("shardId-000000000001", "shardId-000000000000")
	check.NoError(t, err, "order of adjacent partitions does not matter")
}

// second returns the last of a multi-value call's results as an error.
func second(vals ...any) error {
	err, _ := vals[len(vals)-1].(error)
	return err
}

func TestDefinitionRoundTrip(t *testing.T) {
	st, c := newFakeStore(), &fakeClock{t: 7e9}
	ps, err := NewPartitioned(st, "acct/k", 2, Options{Now: c.Now})
	must.NoError(t, err)
	for _, pk := range []string{"a", "b", "c", "d"} {
		_, _, err := ps.Append(HashKeyFor(pk), KindRaw, []byte(pk), nil)
		must.NoError(t, err)
	}
	c.Advance(time.Second)
	_, _, err = ps.Split("shardId-000000000000", mustKey(t, "1000"))
	must.NoError(t, err)
	must.NoError(t, ps.Save())
	want := ps.Definition()
	ps.Close()

	var raw []byte
	must.NoError(t, st.Defs(DefKind, func(key string, val []byte) error {
		check.Equal(t, "acct/k", key)
		raw = val
		return nil
	}))
	var def Definition
	must.NoError(t, json.Unmarshal(raw, &def))
	check.Equal(t, want, def)

	re, err := OpenPartitioned(st, def, Options{Now: c.Now})
	must.NoError(t, err)
	check.Equal(t, want, re.Definition())
	for _, p := range ps.Partitions() {
		q, err := re.Partition(p.ID())
		must.NoError(t, err)
		a, b := p.Stream().Bounds()
		x, y := q.Stream().Bounds()
		check.Equal(t, [2]uint64{a, b}, [2]uint64{x, y}, p.ID())
	}
	lo, hi, err := re.Split("shardId-000000000003", mustKey(t, "100000000000000000000000000000000000000"))
	must.NoError(t, err)
	check.Equal(t, "shardId-000000000004", lo.ID(), "ids continue")
	check.Equal(t, "shardId-000000000005", hi.ID())

	def.Partitions[0].EndOffset = nil // reopened parent overlaps its children
	_, err = OpenPartitioned(st, def, Options{})
	check.ErrorIs(t, err, ErrBadDefinition)
}

func TestPruneAfterRetention(t *testing.T) {
	st, c := newFakeStore(), &fakeClock{t: 0}
	ret := NewRetainer(time.Hour, c.Now)
	ps, err := NewPartitioned(st, "k", 1, Options{Now: c.Now, MaxAge: time.Hour, Retainer: ret})
	must.NoError(t, err)
	_, _, err = ps.Append(HashKeyFor("a"), KindRaw, []byte("x"), nil)
	must.NoError(t, err)
	_, _, err = ps.Split("shardId-000000000000", mustKey(t, "1000"))
	must.NoError(t, err)
	check.Empty(t, ps.Prune(), "sealed parent still holds a record")
	c.Advance(2 * time.Hour)
	ret.RunOnce()
	check.Equal(t, []string{"shardId-000000000000"}, ps.Prune())
	_, err = ps.Partition("shardId-000000000000")
	check.ErrorIs(t, err, ErrPartitionNotFound)
	check.Len(t, ps.Partitions(), 2)
}

// TestSetMaxAgeTrimsAndPersists: retention changed after creation applies
// to every partition on the shared timer and survives a reopen through the
// definition (Kinesis Increase/DecreaseStreamRetentionPeriod).
func TestSetMaxAgeTrimsAndPersists(t *testing.T) {
	st, c := newFakeStore(), &fakeClock{t: 0}
	ret := NewRetainer(time.Hour, c.Now)
	defer ret.Close()
	opts := Options{Now: c.Now, Retainer: ret}
	ps, err := NewPartitioned(st, "k", 2, opts)
	must.NoError(t, err)
	for i := 0; i < 20; i++ {
		_, _, err := ps.Append(HashKeyFor(fmt.Sprint("key", i)), KindRaw, []byte("x"), nil)
		must.NoError(t, err)
	}
	c.Advance(2 * time.Hour)
	ret.RunOnce()
	total := func() (n uint64) {
		for _, p := range ps.Partitions() {
			first, next := p.Stream().Bounds()
			n += next - first
		}
		return n
	}
	check.Equal(t, uint64(20), total(), "no retention yet")
	ps.SetMaxAge(time.Hour)
	ret.RunOnce()
	check.Equal(t, uint64(0), total(), "trimmed after SetMaxAge")
	check.Equal(t, time.Hour, ps.Definition().MaxAge)
	ps2, err := OpenPartitioned(st, ps.Definition(), Options{Now: c.Now})
	must.NoError(t, err)
	check.Equal(t, time.Hour, ps2.Definition().MaxAge)
}
