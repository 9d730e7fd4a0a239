package awsgw

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/stretchr/testify/require"
)

// TestScanPutRecords checks that the PutRecords fast path takes plain
// bodies, decoding them as the generic path does, and leaves every
// unusual one to the generic path.
func TestScanPutRecords(t *testing.T) {
	plain := `{"Records":[{"Data":"ZDA=","PartitionKey":"k0"},{"ExplicitHashKey":"7","PartitionKey":"k1","Data":""}],"StreamName":"s"}`
	p, recs, ok := scanPutRecords([]byte(" " + plain + "\n"))
	require.True(t, ok)
	require.Equal(t, params{"StreamName": "s"}, p)
	require.Len(t, recs, 2)
	require.Equal(t, "d0", string(recs[0].data))
	require.Equal(t, "k0", recs[0].key)
	require.Equal(t, "7", recs[1].explicit)
	require.Empty(t, recs[1].data)

	// The generic path agrees on what the fast path accepts.
	raw, aerr := decodeKinesisBody(protoJSON, []byte(plain))
	require.Nil(t, aerr)
	gp, aerr := checkMembers(raw, kinesisSchemas["PutRecords"])
	require.Nil(t, aerr)
	items := gp["Records"].([]any)
	require.Equal(t, recs[0].data, items[0].(map[string]any)["Data"])

	for name, body := range map[string]string{
		"escape":       `{"Records":[{"Data":"ZDA=","PartitionKey":"k\u0030"}],"StreamName":"s"}`,
		"null":         `{"Records":[{"Data":"ZDA=","PartitionKey":"k0","ExplicitHashKey":null}],"StreamName":"s"}`,
		"unknown":      `{"Records":[{"Data":"ZDA=","PartitionKey":"k0"}],"StreamName":"s","X":1}`,
		"duplicate":    `{"Records":[{"Data":"ZDA=","PartitionKey":"k0","PartitionKey":"k1"}],"StreamName":"s"}`,
		"bad base64":   `{"Records":[{"Data":"ZDA","PartitionKey":"k0"}],"StreamName":"s"}`,
		"bad pad":      `{"Records":[{"Data":"ZDB=","PartitionKey":"k0"}],"StreamName":"s"}`,
		"empty key":    `{"Records":[{"Data":"ZDA=","PartitionKey":""}],"StreamName":"s"}`,
		"no data":      `{"Records":[{"PartitionKey":"k0"}],"StreamName":"s"}`,
		"hash":         `{"Records":[{"Data":"ZDA=","PartitionKey":"k0","ExplicitHashKey":"07"}],"StreamName":"s"}`,
		"non-ascii":    `{"Records":[{"Data":"ZDA=","PartitionKey":"é"}],"StreamName":"s"}`,
		"no records":   `{"Records":[],"StreamName":"s"}`,
		"number":       `{"Records":[{"Data":"ZDA=","PartitionKey":5}],"StreamName":"s"}`,
		"trailing":     plain + `{}`,
		"unterminated": `{"Records":[{"Data":"ZDA=","PartitionKey":"k0"}],"StreamName":"s"`,
	} {
		_, _, ok := scanPutRecords([]byte(body))
		require.False(t, ok, name)
	}

	// A raw line break in Data (which encoding/base64 would skip) is not
	// JSON: the fast path leaves it to the generic one, which says so.
	for _, data := range []string{"ZDAx\r\n\r\nZA==", "ZDAxZD\nA"} {
		body := []byte(`{"Records":[{"Data":"` + data + `","PartitionKey":"k0"}],"StreamName":"s"}`)
		_, _, ok := scanPutRecords(body)
		require.False(t, ok, "%q", body)
		_, aerr := decodeKinesisBody(protoJSON, body)
		require.NotNil(t, aerr, "%q", body)
		require.Equal(t, "SerializationException", aerr.Type)
	}
}

func TestAppendPutRecordsJSON(t *testing.T) {
	outs := []recordOut{{SequenceNumber: "49", ShardId: "shardId-000000000000"}, {SequenceNumber: "50", ShardId: "shardId-000000000001"},
		{seq: recordKseq(1795802334633, 2, 77), ShardId: "shardId-000000000002"}}
	b, ok := appendPutRecordsJSON(nil, outs, "KMS")
	require.True(t, ok)
	fillSeqs(outs) // what the other encoders see
	require.Equal(t, recordSeq(1795802334633, 2, 77), outs[2].SequenceNumber)
	want, err := json.Marshal(&struct {
		FailedRecordCount int
		Records           []recordOut
		EncryptionType    string `json:",omitempty"`
	}{0, outs, "KMS"})
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(b))
	require.Equal(t, string(want), string(b))
	_, ok = appendPutRecordsJSON(nil, []recordOut{{ErrorCode: "InternalFailure"}}, "")
	require.False(t, ok)
}

func TestAppendGetRecordsJSON(t *testing.T) {
	it := "AQAAAaIe+/="
	out := &kGetRecordsOut{Records: []kRecord{
		{SequenceNumber: "49", ApproximateArrivalTimestamp: awsTime(time.UnixMilli(1795802335250)), Data: []byte("d0\x00\xff"), PartitionKey: "k0"},
		{SequenceNumber: "50", ApproximateArrivalTimestamp: awsTime(time.UnixMilli(1795802335000)), Data: []byte{}, PartitionKey: "k1", EncryptionType: "KMS"},
		{seq: recordKseq(1795802334633, 1, 5), ApproximateArrivalTimestamp: awsTime(time.UnixMilli(1795802335000)), Data: []byte("x"), PartitionKey: "k2"},
	}, NextShardIterator: &it, MillisBehindLatest: 12}
	for _, o := range []*kGetRecordsOut{out, {Records: []kRecord{}}} {
		b, ok := appendGetRecordsJSON(nil, o)
		require.True(t, ok)
		o.fillSeqs() // what the other encoders see
		want, err := json.Marshal(o)
		require.NoError(t, err)
		require.Equal(t, string(want), string(b))
	}
	out.Records[0].PartitionKey = "k<0>"
	_, ok := appendGetRecordsJSON(nil, out)
	require.False(t, ok)
}

func TestKinesisSeqDigits(t *testing.T) {
	for _, c := range []struct {
		epoch uint64
		idx   int
		off   uint64
	}{{0, 0, 0}, {1795802334633, 3, 6500}, {999_999_999_999, 9_999_999_999, math.MaxUint64 - 1}, {5, -1, 7}} {
		want := fmt.Sprintf("49%012d%010d%012d%020d", c.epoch%seqEpochMod, c.idx, seqGen, c.off)
		require.Equal(t, want, kinesisSeq(c.epoch, c.idx, c.off))
	}
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, newUUID())
}

// BenchmarkHotCodecs: the per-message codecs of the hot paths (receipt
// handles, Kinesis sequence numbers, request ids).
func BenchmarkHotCodecs(b *testing.B) {
	key := []byte("0123456789abcdef0123456789abcdef")
	r := receipt{vhost: "/", queue: "bench-queue", seq: 12345, msgID: 67890, count: 1}
	b.Run("receipt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeReceipt(key, encodeReceipt(key, r)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("kinesisSeq", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = kinesisSeq(1795802334633, 3, 6500)
		}
	})
	b.Run("newUUID", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = newUUID()
		}
	})
}

// checkFastAgrees asserts that whatever body the PutRecords fast path
// takes, the generic path (encoding/json and the schema's checks) takes
// too, with the same stream and records: the fast path may leave any
// body to the generic one, but may never accept one it refuses nor read
// one differently.
func checkFastAgrees(t *testing.T, body []byte) {
	t.Helper()
	p, recs, ok := scanPutRecords(body)
	if !ok || validateKinesis(p, putRecordsStreamFields) != nil { // as putRecordsFast
		return
	}
	schema := kinesisSchemas["PutRecords"]
	raw, aerr := decodeKinesisBody(protoJSON, body)
	require.Nil(t, aerr, "%q", body)
	m, aerr := checkMembers(raw, schema)
	gp := params(m)
	require.Nil(t, aerr, "%q", body)
	require.Nil(t, validateKinesis(gp, schema), "%q", body)
	for _, k := range []string{"StreamName", "StreamARN"} {
		require.Equal(t, gp.str(k), p.str(k), "%q: %s", body, k)
	}
	items := gp["Records"].([]any)
	require.Len(t, recs, len(items))
	for i, item := range items {
		e := params(item.(map[string]any))
		require.Equal(t, e.str("PartitionKey"), recs[i].key, "%q: record %d", body, i)
		require.Equal(t, e.str("ExplicitHashKey"), recs[i].explicit, "%q: record %d", body, i)
		require.Equal(t, string(e.blob("Data")), string(recs[i].data), "%q: record %d", body, i)
	}
}

// FuzzPutRecordsFast compares the PutRecords fast path with the generic
// path on arbitrary bodies.
func FuzzPutRecordsFast(f *testing.F) {
	for _, s := range []string{
		`{"Records":[{"Data":"ZDA=","PartitionKey":"k0"},{"ExplicitHashKey":"7","PartitionKey":"k1","Data":""}],"StreamName":"s"}`,
		`{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","Records":[{"Data":"AAECAwQFBgcICQoLDA0ODw==","PartitionKey":"k"}]}`,
		`{"Records":[{"Data":"ZDAx\r\n\r\nZA==","PartitionKey":"k0"}],"StreamName":"s"}`,
		`{"Records":[{"Data":"ZDAxZDAxZDAx\nZDA=","PartitionKey":"k0"}],"StreamName":"s"}`,
		` {"Records" : [ {"PartitionKey":"` + strings.Repeat("k", 256) + `", "Data":"QUJD"} ] , "StreamName":"a.b-c_d"}` + "\n",
		`{"Records":[{"Data":"ZDA=","PartitionKey":"k0","ExplicitHashKey":"340282366920938463463374607431768211456"}],"StreamName":"s"}`,
		`{"Records":[{"Data":"ZDA=","PartitionKey":"k0"}],"StreamName":"s!"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkFastAgrees(t, body) })
}

// TestKinesisConcurrentPutRecords puts batches from several clients at
// once (their bodies read into recycled buffers, their data decoded into
// recycled arenas) and reads every record back with its own data and
// partition key, once.
func TestKinesisConcurrentPutRecords(t *testing.T) {
	_, kc := kinesisEnv(t, Config{KinesisNoLimits: true})
	createStream(t, kc, "conc", 2)
	const clients, calls, batch = 4, 10, 50
	want := map[string]string{} // partition key → data
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		entries := make([][]types.PutRecordsRequestEntry, calls)
		for n := range calls {
			for i := range batch {
				key := fmt.Sprintf("c%d-n%d-i%d", c, n, i)
				data := strings.Repeat(key+";", 20+i)
				want[key] = data
				entries[n] = append(entries[n], types.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: []byte(data)})
			}
		}
		wg.Go(func() {
			for _, e := range entries {
				out, err := kc.PutRecords(ctx(), &kinesis.PutRecordsInput{StreamName: aws.String("conc"), Records: e})
				if err == nil && aws.ToInt32(out.FailedRecordCount) != 0 {
					err = fmt.Errorf("%d records failed", aws.ToInt32(out.FailedRecordCount))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got := map[string]string{}
	for _, shard := range []string{"shardId-000000000000", "shardId-000000000001"} {
		it, err := kc.GetShardIterator(ctx(), &kinesis.GetShardIteratorInput{StreamName: aws.String("conc"),
			ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		require.NoError(t, err)
		iter := it.ShardIterator
		for {
			out, err := kc.GetRecords(ctx(), &kinesis.GetRecordsInput{ShardIterator: iter})
			require.NoError(t, err)
			for _, r := range out.Records {
				_, dup := got[*r.PartitionKey]
				require.False(t, dup, *r.PartitionKey)
				got[*r.PartitionKey] = string(r.Data)
			}
			if len(out.Records) == 0 {
				break
			}
			iter = out.NextShardIterator
		}
	}
	require.Equal(t, len(want), len(got))
	for k, v := range want {
		require.Equal(t, v, got[k], k)
	}
}

// TestSeqCache checks the run formatter against appendKinesisSeq: runs
// across carries, shards interleaved (more than it caches), jumps, other
// epochs and out-of-range shard indexes.
func TestSeqCache(t *testing.T) {
	var c seqCache
	check := func(q kseq) {
		t.Helper()
		require.Equal(t, string(appendKinesisSeq([]byte("x"), q.epoch, q.idx, q.pos)), string(c.append([]byte("x"), q)), "%+v", q)
	}
	for _, start := range []uint64{1, 8, 97, 999_998, 9_999_999_999_999_999_990, math.MaxUint64 - 3} {
		for pos := start; pos < start+12 && pos >= start; pos++ {
			check(recordKseq(1795802334633, 3, pos-1))
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	next := make([]uint64, 7)
	for range 5000 {
		shard := rng.IntN(len(next))
		if rng.IntN(50) == 0 {
			next[shard] = rng.Uint64N(1 << 40)
		}
		epoch := uint64(1795802334633)
		if rng.IntN(100) == 0 {
			epoch++
		}
		check(kseq{epoch: epoch, idx: shard, pos: next[shard], set: true})
		next[shard]++
	}
	check(kseq{epoch: 1, idx: 10_000_000_000, pos: 5, set: true})
	check(kseq{epoch: 1, idx: -1, pos: 6, set: true})
}

// TestArenas checks that a recycled buffer always has the capacity asked
// for, whatever sizes were given back before.
func TestArenas(t *testing.T) {
	for _, n := range []int{0, 1, 4095, 4096, 4097, 700 << 10, 1 << 20, 5<<20 + 1, 16 << 20} {
		putArena(make([]byte, min(n, 10), n))
	}
	for _, n := range []int{0, 1, 4096, 4097, 45 << 10, 700 << 10, 1<<20 + 1, 14 << 20, 16<<20 + 1, 40 << 20} {
		for range 3 {
			b := getArena(n)
			require.Empty(t, b)
			require.GreaterOrEqual(t, cap(b), n)
			putArena(append(b, 'x'))
		}
	}
}
