package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// nativeKinesis is the bench's lean Kinesis client over AWS JSON 1.1:
// what a tuned producer would do, so that a run measures the broker
// rather than the SDK's per-record encoding (20–21 µs of client CPU per
// record of 1 KiB). Every request is SigV4-signed (payload hash
// included) with the SDK's signer, over net/http keep-alive connections.
type nativeKinesis struct {
	endpoint, region string
	hc               *http.Client
	signer           *v4.Signer
	creds            aws.Credentials
}

func newNativeKinesis(endpoint, region string, conns int) *nativeKinesis {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns*2, conns*2
	tr.DisableCompression = true
	creds, _ := benchCreds.Retrieve(context.Background())
	return &nativeKinesis{endpoint: endpoint, region: region, signer: v4.NewSigner(), creds: creds,
		hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// call posts one signed Kinesis request and returns the answer's body,
// read into *buf (reused), or an error with the answer's text.
func (c *nativeKinesis) call(ctx context.Context, action string, body []byte, buf *bytes.Buffer) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+action)
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), "kinesis", c.region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	buf.Reset()
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead) // ReadFrom wants MinRead spare to see the end
	}
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %s", action, resp.StatusCode, bytes.TrimSpace(b[:min(len(b), 300)]))
	}
	return b, nil
}

// kinesisBodyProducer holds one PutRecords body, built once; each put patches
// the records' stamps and partition keys in place. The body is not
// touched while a call is in flight: calls are one at a time.
type kinesisBodyProducer struct {
	c     *nativeKinesis
	body  []byte
	data  []int // offset of each record's base64 data in body
	keys  []int // offset of each record's partition key in body
	first []byte
	buf   bytes.Buffer
}

// keyLen is the length of the partition keys: 16 hex digits.
const keyLen = 16

func (c *nativeKinesis) producer(stream string, batch, size int) kinesisProducer {
	p := &kinesisBodyProducer{c: c, data: make([]int, batch), keys: make([]int, batch)}
	rec := make([]byte, size)
	b := append([]byte(`{"StreamName":`), mustJSON(stream)...)
	b = append(b, `,"Records":[`...)
	for i := range batch {
		if i > 0 {
			b = append(b, ',')
		}
		_, _ = rand.Read(rec)
		b = append(b, `{"Data":"`...)
		p.data[i] = len(b)
		b = base64.StdEncoding.AppendEncode(b, rec)
		b = append(b, `","PartitionKey":"`...)
		p.keys[i] = len(b)
		b = append(b, bytes.Repeat([]byte{'0'}, keyLen)...)
		b = append(b, `"}`...)
	}
	p.body = append(b, `]}`...)
	// The stamp is the first 8 bytes; with the 9th they are the first 12
	// base64 characters, patched as a unit.
	p.first = make([]byte, 9)
	_, _ = base64.StdEncoding.Decode(p.first, p.body[p.data[0]:p.data[0]+12])
	return p
}

func (p *kinesisBodyProducer) put(ctx context.Context, sent int64) (int, error) {
	binary.LittleEndian.PutUint64(p.first, uint64(sent))
	var stamp [12]byte
	base64.StdEncoding.Encode(stamp[:], p.first)
	for i, off := range p.data {
		copy(p.body[off:], stamp[:])
		var key [8]byte
		binary.BigEndian.PutUint64(key[:], mrand.Uint64())
		hex.Encode(p.body[p.keys[i]:p.keys[i]+keyLen], key[:])
	}
	b, err := p.c.call(ctx, "PutRecords", p.body, &p.buf)
	if err != nil {
		return 0, err
	}
	failed, ok := jsonInt(b, `"FailedRecordCount":`)
	if !ok {
		return 0, fmt.Errorf("PutRecords: no FailedRecordCount in %.200s", b)
	}
	return len(p.data) - int(failed), nil
}

func (c *nativeKinesis) iterator(ctx context.Context, stream, shard string) (string, error) {
	body, _ := json.Marshal(map[string]string{"StreamName": stream, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"})
	var buf bytes.Buffer
	b, err := c.call(ctx, "GetShardIterator", body, &buf)
	if err != nil {
		return "", err
	}
	var out struct{ ShardIterator string }
	if err := json.Unmarshal(b, &out); err != nil {
		return "", err
	}
	return out.ShardIterator, nil
}

// getRecords scans the answer rather than decoding it: each record's
// "Data" string gives its size and, from its first 12 characters, its
// stamp. Neither brokers' sequence numbers, partition keys (hex here)
// nor iterators (base64) can hold the text `"Data":"`.
func (c *nativeKinesis) getRecords(ctx context.Context, iter string, limit int, rec func(sent int64, size int)) (string, int, error) {
	body := append([]byte(`{"ShardIterator":`), mustJSON(iter)...)
	body = append(body, `,"Limit":`...)
	body = strconv.AppendInt(body, int64(limit), 10)
	body = append(body, '}')
	buf := readBufs.Get().(*bytes.Buffer)
	defer readBufs.Put(buf)
	b, err := c.call(ctx, "GetRecords", body, buf)
	if err != nil {
		return "", 0, err
	}
	n := 0
	var stamp [9]byte
	for rest := b; ; {
		i := bytes.Index(rest, []byte(`"Data":"`))
		if i < 0 {
			break
		}
		rest = rest[i+len(`"Data":"`):]
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			return "", 0, fmt.Errorf("GetRecords: unterminated Data in %.200s", b)
		}
		d := rest[:end]
		rest = rest[end+1:]
		size := len(d) / 4 * 3
		if len(d) > 0 && d[len(d)-1] == '=' {
			size--
			if len(d) > 1 && d[len(d)-2] == '=' {
				size--
			}
		}
		sent := int64(-1)
		if len(d) >= 12 {
			if _, err := base64.StdEncoding.Decode(stamp[:], d[:12]); err == nil {
				sent = int64(binary.LittleEndian.Uint64(stamp[:8]))
			}
		}
		rec(sent, size)
		n++
	}
	next, _ := jsonString(b, `"NextShardIterator":"`)
	return next, n, nil
}

// readBufs recycles GetRecords answers (up to 14 MiB each).
var readBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// jsonInt reads the integer after key in b.
func jsonInt(b []byte, key string) (int64, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	j := 0
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(string(b[:j]), 10, 64)
	return n, err == nil
}

// jsonString reads the string (without escapes) after key, which ends
// with its opening quote.
func jsonString(b []byte, key string) (string, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return "", false
	}
	b = b[i+len(key):]
	j := bytes.IndexByte(b, '"')
	if j < 0 {
		return "", false
	}
	return string(b[:j]), true
}

// mustJSON encodes a string as JSON.
func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
