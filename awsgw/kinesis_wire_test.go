package awsgw

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/require"
)

// kinesisCall posts a raw Kinesis request (the env accepts any key) and
// returns the status, content type and body.
func kinesisCall(t *testing.T, e *testEnv, action, ct string, body []byte) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+"/", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+action)
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), out
}

func cborCall(t *testing.T, e *testEnv, action string, in map[string]any) (int, map[string]any) {
	t.Helper()
	body, err := cbor.Marshal(in)
	require.NoError(t, err)
	status, ct, raw := kinesisCall(t, e, action, ctKinesisCBOR, body)
	require.Equal(t, ctKinesisCBOR, ct)
	var out map[string]any
	require.NoError(t, kinesisCBORDec.Unmarshal(raw, &out), "%x", raw)
	return status, out
}

func TestKinesisCBOR(t *testing.T) {
	e := newEnv(t, Config{AcceptAnyKey: true, KinesisNoLimits: true})
	status, out := cborCall(t, e, "CreateStream", map[string]any{"StreamName": "c", "ShardCount": 1})
	require.Equal(t, 200, status, out)
	before := time.Now().Add(-time.Second)
	status, out = cborCall(t, e, "PutRecord", map[string]any{"StreamName": "c", "PartitionKey": "pk", "Data": []byte{0, 1, 2, 0xff}})
	require.Equal(t, 200, status, out)
	require.Equal(t, "shardId-000000000000", out["ShardId"])
	seq := out["SequenceNumber"]
	require.Len(t, seq, seqLen)
	status, out = cborCall(t, e, "PutRecords", map[string]any{"StreamName": "c", "Records": []any{
		map[string]any{"PartitionKey": "pk", "Data": []byte{3}}}})
	require.Equal(t, 200, status, out)
	require.Equal(t, recordSeq(0, 0, 1)[24:], out["Records"].([]any)[0].(map[string]any)["SequenceNumber"].(string)[24:])
	// The Java SDK sends timestamps as tag 1 with epoch milliseconds.
	status, out = cborCall(t, e, "GetShardIterator", map[string]any{"StreamName": "c", "ShardId": "shardId-000000000000",
		"ShardIteratorType": "AT_TIMESTAMP", "Timestamp": cbor.Tag{Number: 1, Content: before.UnixMilli()}})
	require.Equal(t, 200, status, out)
	status, out = cborCall(t, e, "GetRecords", map[string]any{"ShardIterator": out["ShardIterator"]})
	require.Equal(t, 200, status, out)
	recs := out["Records"].([]any)
	require.Len(t, recs, 2)
	rec := recs[0].(map[string]any)
	require.Equal(t, seq, rec["SequenceNumber"])
	require.Equal(t, []byte{0, 1, 2, 0xff}, rec["Data"])
	require.Equal(t, "pk", rec["PartitionKey"])
	arrived, ok := rec["ApproximateArrivalTimestamp"].(time.Time)
	require.True(t, ok, "%T", rec["ApproximateArrivalTimestamp"])
	require.WithinDuration(t, time.Now(), time.UnixMilli(arrived.Unix()), time.Minute) // milliseconds in tag 1

	status, out = cborCall(t, e, "DescribeStream", map[string]any{"StreamName": "nope"})
	require.Equal(t, 400, status)
	require.Equal(t, map[string]any{"__type": "ResourceNotFoundException", "message": "Stream nope under account 000000000000 not found."}, out)
	status, out = cborCall(t, e, "CreateStream", map[string]any{"StreamName": "x", "ShardCount": "1"})
	require.Equal(t, 400, status)
	require.Equal(t, "class java.lang.String can not be converted to an Integer", out["message"])
}

func TestKinesisSerialization(t *testing.T) {
	e := newEnv(t, Config{AcceptAnyKey: true})
	cases := []struct{ action, body, typ, msg string }{
		{"CreateStream", `{"StreamName":5,"ShardCount":1}`, "SerializationException",
			"class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"},
		{"CreateStream", `{"StreamName":"a","ShardCount":true}`, "SerializationException",
			"class java.lang.Boolean can not be converted to an Integer"},
		{"PutRecord", `{"StreamName":"a","PartitionKey":"k","Data":"abc"}`, "SerializationException",
			"'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3"},
		{"PutRecords", `{"StreamName":"a","Records":{}}`, "SerializationException",
			"Start of structure or map found where not expected."},
		{"ListStreams", `[]`, "SerializationException", ""},
		{"ListStreams", `{`, "SerializationException", ""},
		{"NoSuchAction", `{}`, "UnknownOperationException", ""},
		{"DeleteStream", `{"StreamName":"a","Extra":{"x":1}}`, "ResourceNotFoundException",
			"Stream a under account 000000000000 not found."},
	}
	for _, c := range cases {
		t.Run(c.action+c.body, func(t *testing.T) {
			status, ct, raw := kinesisCall(t, e, c.action, ctKinesisJSON, []byte(c.body))
			require.Equal(t, 400, status)
			require.Equal(t, ctKinesisJSON, ct)
			var out map[string]string
			require.NoError(t, json.Unmarshal(raw, &out))
			require.Equal(t, c.typ, out["__type"])
			require.Equal(t, c.msg, out["message"])
		})
	}
}

func TestKinesisSequenceNumbers(t *testing.T) {
	s := recordSeq(123456789012345, 7, 42)
	require.Len(t, s, 56)
	ep, idx, pos, ok := parseKinesisSeq(s)
	require.True(t, ok)
	require.Equal(t, uint64(123456789012345%seqEpochMod), ep)
	require.Equal(t, 7, idx)
	require.Equal(t, uint64(43), pos) // AFTER reads from offset 43, AT from 42
	require.Less(t, recordSeq(1, 0, 99), kinesisSeq(1, 1, 0))
	require.Less(t, kinesisSeq(1, 0, 0), recordSeq(1, 0, 0)) // a shard's start is below its first record
	_, _, pos, ok = parseKinesisSeq(kinesisSeq(1, 2, endOffsetSeq))
	require.True(t, ok)
	require.Equal(t, uint64(endOffsetSeq), pos)
	// A number of the generation before (the offset itself, middle block
	// of zeros) still names the same record.
	_, _, pos, ok = parseKinesisSeq("49" + s[2:24] + "000000000000" + "00000000000000000042")
	require.True(t, ok)
	require.Equal(t, uint64(43), pos)
	for _, bad := range []string{"", "0", "59" + s[2:], s[:55] + "x", s[:24] + "000000000002" + s[36:]} {
		_, _, _, ok = parseKinesisSeq(bad)
		require.False(t, ok, bad)
	}
}
