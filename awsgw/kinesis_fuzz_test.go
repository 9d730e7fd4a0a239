package awsgw

import (
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// fuzzKinesisBody runs a body through the decoder, type checks and
// validation of every action: it must never panic.
func fuzzKinesisBody(t *testing.T, proto protocol, body []byte) {
	raw, aerr := decodeKinesisBody(proto, body)
	if aerr != nil {
		return
	}
	for _, schema := range kinesisSchemas {
		p, aerr := checkMembers(raw, schema)
		if aerr != nil {
			continue
		}
		_ = validateKinesis(p, schema)
	}
}

// FuzzKinesisJSON checks the AWS JSON 1.1 decoder and validators.
func FuzzKinesisJSON(f *testing.F) {
	f.Add([]byte(`{"StreamName":"s","ShardCount":2,"StreamModeDetails":{"StreamMode":"ON_DEMAND"},"Tags":{"a":"b"}}`))
	f.Add([]byte(`{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"AAEC","ExplicitHashKey":"12"},{"PartitionKey":""}]}`))
	f.Add([]byte(`{"ShardIterator":"x","Limit":1e400,"Timestamp":1.7e9,"ShardFilter":{"Type":"AT_TIMESTAMP","Timestamp":"x"}}`))
	f.Add([]byte(`{"TagKeys":["a",null,5],"ShardLevelMetrics":["ALL"],"Data":"a=b="}`))
	f.Fuzz(func(t *testing.T, body []byte) { fuzzKinesisBody(t, protoJSON, body) })
}

// FuzzKinesisCBOR checks the CBOR decoder and validators.
func FuzzKinesisCBOR(f *testing.F) {
	for _, in := range []map[string]any{
		{"StreamName": "s", "ShardCount": 1},
		{"StreamName": "s", "PartitionKey": "k", "Data": []byte{1, 2}},
		{"StreamName": "s", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP",
			"Timestamp": cbor.Tag{Number: 1, Content: time.Now().UnixMilli()}},
		{"Records": []any{map[string]any{"PartitionKey": "k", "Data": []byte{}}, 7}},
	} {
		b, _ := cbor.Marshal(in)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) { fuzzKinesisBody(t, protoCBOR, body) })
}

// FuzzKinesisIterator checks that arbitrary iterators never decode
// unless made with the key.
func FuzzKinesisIterator(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	f.Add(encodeIterator(key, iterator{issued: time.UnixMilli(1), vhost: "/", stream: "s", shard: 1, offset: 2}))
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		it, ok := decodeIterator(key, s)
		if ok && encodeIterator(key, it) != s {
			t.Fatalf("%q decoded but does not re-encode", s)
		}
	})
}
