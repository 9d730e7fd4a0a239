package awsgw

import (
	"encoding/json"
	"testing"
	"time"

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
}

func TestAppendPutRecordsJSON(t *testing.T) {
	outs := []recordOut{{SequenceNumber: "49", ShardId: "shardId-000000000000"}, {SequenceNumber: "50", ShardId: "shardId-000000000001"}}
	b, ok := appendPutRecordsJSON(nil, outs, "KMS")
	require.True(t, ok)
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
	}, NextShardIterator: &it, MillisBehindLatest: 12}
	for _, o := range []*kGetRecordsOut{out, {Records: []kRecord{}}} {
		b, ok := appendGetRecordsJSON(nil, o)
		require.True(t, ok)
		want, err := json.Marshal(o)
		require.NoError(t, err)
		require.Equal(t, string(want), string(b))
	}
	out.Records[0].PartitionKey = "k<0>"
	_, ok := appendGetRecordsJSON(nil, out)
	require.False(t, ok)
}
