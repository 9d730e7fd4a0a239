package awsgw

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// PutRecords is the Kinesis hot path: a batch of up to 500 records in
// one AWS JSON body. The generic path (decodeKinesisBody, checkMembers,
// validateKinesis) decodes it into a tree of maps and then copies each
// record out again; putRecordsFast scans the body once, decodes every
// record's base64 data into one shared buffer and checks the records'
// constraints directly. It takes only bodies it can answer exactly as
// the generic path would: anything unusual (escapes, nulls, unknown or
// repeated members, non-ASCII partition keys, bad base64, a constraint
// broken) makes it give up, and the generic path answers, with its error
// texts.

// putRecordsFast serves a PutRecords request over AWS JSON, or reports
// ok=false when the generic path must.
func (k *kinesisService) putRecordsFast(req *request) (out any, aerr *apiError, ok bool) {
	arena := getArena(base64.StdEncoding.DecodedLen(len(req.body)))
	defer putArena(arena) // the records' data is copied into the stream by then
	p, recs, ok := scanPutRecordsInto(req.body, arena)
	if !ok || validateKinesis(p, putRecordsStreamFields) != nil {
		return nil, nil, false
	}
	t, aerr := k.resolve(req, p, 'w')
	if aerr != nil {
		return nil, aerr, true
	}
	out, aerr = k.putTyped(t, recs, true)
	return out, aerr, true
}

// pooledBody reports whether r is a PutRecords over AWS JSON, whose
// body (up to 5 MiB of data in base64) is read into a buffer from arenas
// and given back once answered: nothing keeps it (the fast path decodes
// the data into an arena of its own and copies the texts; encoding/json
// copies what it decodes).
func pooledBody(r *http.Request) bool {
	return r.Header.Get("X-Amz-Target") == "Kinesis_20131202.PutRecords" &&
		!strings.HasPrefix(r.Header.Get("Content-Type"), ctKinesisCBOR)
}

// putRecordsStreamFields are PutRecords's members other than Records.
var putRecordsStreamFields = kinesisSchemas["PutRecords"][1:]

// jsonScan is a cursor over a JSON body that accepts only the plain
// forms putRecordsFast handles.
type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and consumes c.
func (s *jsonScan) next(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// peek skips white space and reports whether c comes next.
func (s *jsonScan) peek(c byte) bool {
	s.ws()
	return s.i < len(s.b) && s.b[s.i] == c
}

// str reads a string without escapes, control characters or non-ASCII
// bytes and returns its bytes (aliasing the body).
func (s *jsonScan) str() ([]byte, bool) {
	if !s.next('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// rawStr reads a string's bytes up to the next quote without checking
// them: for Data, whose base64 decoding (decodeBase64, which unlike
// encoding/base64 does not skip line breaks) rejects every byte an
// escape, a control character or non-ASCII text would bring.
func (s *jsonScan) rawStr() ([]byte, bool) {
	if !s.next('"') {
		return nil, false
	}
	end := bytes.IndexByte(s.b[s.i:], '"')
	if end < 0 {
		return nil, false
	}
	v := s.b[s.i : s.i+end]
	s.i += end + 1
	return v, true
}

// scanPutRecords decodes a plain PutRecords body: the stream members
// into p, the records typed, their data decoded into one buffer.
func scanPutRecords(body []byte) (p params, recs []recordIn, ok bool) {
	return scanPutRecordsInto(body, make([]byte, 0, base64.StdEncoding.DecodedLen(len(body))))
}

// scanPutRecordsInto is scanPutRecords decoding the data into arena, which
// must have the capacity (base64 DecodedLen of the body): the records'
// data aliases it.
func scanPutRecordsInto(body, arena []byte) (p params, recs []recordIn, ok bool) {
	s := &jsonScan{b: body}
	if !s.next('{') {
		return nil, nil, false
	}
	p = params{}
	seen := false
	for first := true; !s.peek('}'); first = false {
		if !first && !s.next(',') {
			return nil, nil, false
		}
		key, ok := s.str()
		if !ok || !s.next(':') {
			return nil, nil, false
		}
		switch k := string(key); k {
		case "Records":
			if seen {
				return nil, nil, false
			}
			seen = true
			if recs, arena, ok = s.records(arena); !ok {
				return nil, nil, false
			}
		case "StreamName", "StreamARN":
			v, ok := s.str()
			if _, dup := p[k]; !ok || dup {
				return nil, nil, false
			}
			p[k] = string(v)
		default:
			return nil, nil, false
		}
	}
	s.i++
	s.ws()
	if s.i != len(s.b) || !seen || len(recs) < 1 || len(recs) > 500 {
		return nil, nil, false
	}
	return p, recs, true
}

// records reads the Records list.
func (s *jsonScan) records(arena []byte) ([]recordIn, []byte, bool) {
	if !s.next('[') {
		return nil, nil, false
	}
	recs := make([]recordIn, 0, 500)
	for first := true; !s.peek(']'); first = false {
		if !first && !s.next(',') {
			return nil, nil, false
		}
		var r recordIn
		var ok bool
		if r, arena, ok = s.record(arena); !ok {
			return nil, nil, false
		}
		recs = append(recs, r)
	}
	s.i++
	return recs, arena, true
}

// record reads one PutRecordsRequestEntry and checks its constraints
// (PartitionKey 1-256 characters, ExplicitHashKey digits, Data at most
// 1 MiB).
func (s *jsonScan) record(arena []byte) (recordIn, []byte, bool) {
	var r recordIn
	var hasKey, hasData, hasHash bool
	if !s.next('{') {
		return r, nil, false
	}
	for first := true; !s.peek('}'); first = false {
		if !first && !s.next(',') {
			return r, nil, false
		}
		key, ok := s.str()
		if !ok || !s.next(':') {
			return r, nil, false
		}
		var v []byte
		if string(key) == "Data" {
			v, ok = s.rawStr()
		} else {
			v, ok = s.str()
		}
		if !ok {
			return r, nil, false
		}
		switch string(key) {
		case "PartitionKey":
			if hasKey || len(v) < 1 || len(v) > 256 {
				return r, nil, false
			}
			hasKey, r.key = true, string(v)
		case "ExplicitHashKey":
			if hasHash || !validHashKeyText(v) {
				return r, nil, false
			}
			hasHash, r.explicit = true, string(v)
		case "Data":
			if hasData {
				return r, nil, false
			}
			start := len(arena)
			n, ok := decodeBase64(arena[start:cap(arena)], v)
			if !ok || n > maxRecordData {
				return r, nil, false
			}
			arena = arena[:start+n]
			hasData, r.data = true, arena[start:start+n:start+n]
		default:
			return r, nil, false
		}
	}
	s.i++
	return r, arena, hasKey && hasData
}

// validHashKeyText matches hashKeyRe: 0, or up to 39 digits without a
// leading zero.
func validHashKeyText(v []byte) bool {
	if len(v) == 0 || len(v) > 39 || (v[0] == '0' && len(v) > 1) {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// rawJSON is a response body already encoded as AWS JSON, in a buffer
// from arenas (writeKinesisResult gives it back).
type rawJSON []byte

// appendPutRecordsJSON encodes a PutRecords result whose records all
// succeeded; ok=false when one failed (json.Marshal escapes their
// messages).
func appendPutRecordsJSON(b []byte, outs []recordOut, encryption string) ([]byte, bool) {
	b = append(b, `{"FailedRecordCount":0,"Records":[`...)
	var seqs seqCache
	for i := range outs {
		o := &outs[i]
		if o.ErrorCode != "" || !plainJSON(o.SequenceNumber) || !plainJSON(o.ShardId) {
			return b, false
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"SequenceNumber":"`...)
		b = appendSeqField(b, &seqs, o.seq, o.SequenceNumber)
		b = append(b, `","ShardId":"`...)
		b = append(b, o.ShardId...)
		b = append(b, `"}`...)
	}
	b = append(b, ']')
	if encryption != "" {
		b = append(b, `,"EncryptionType":`...)
		b = strconv.AppendQuote(b, encryption)
	}
	return append(b, '}'), true
}

// appendSeqField appends a sequence number: q's digits if set (through
// c), else s (checked by plainJSON already).
func appendSeqField(b []byte, c *seqCache, q kseq, s string) []byte {
	if q.set {
		return c.append(b, q)
	}
	return append(b, s...)
}

// seqCache formats runs of sequence numbers: the records of one shard in
// a PutRecords or GetRecords answer have consecutive positions, so each
// number is the one before it of the same shard with its last digits
// counted up, instead of 54 digits divided out afresh.
type seqCache struct {
	n    int
	last [4]struct {
		q      kseq
		digits [seqLen]byte
	}
}

func (c *seqCache) append(b []byte, q kseq) []byte {
	if q.idx < 0 || q.idx > 9_999_999_999 {
		return appendKinesisSeq(b, q.epoch, q.idx, q.pos)
	}
	for i := range c.n {
		e := &c.last[i]
		if e.q.epoch != q.epoch || e.q.idx != q.idx {
			continue
		}
		if q.pos == e.q.pos+1 && q.pos != 0 {
			for j := seqLen - 1; j >= seqLen-20; j-- { // the position's 20 digits
				if e.digits[j] != '9' {
					e.digits[j]++
					break
				}
				e.digits[j] = '0'
			}
		} else {
			putSeq(e.digits[:], q.epoch, q.idx, q.pos)
		}
		e.q = q
		return append(b, e.digits[:]...)
	}
	i := c.n
	if i == len(c.last) {
		i = int(q.pos) % len(c.last) // full: replace one
	} else {
		c.n++
	}
	e := &c.last[i]
	e.q = q
	putSeq(e.digits[:], q.epoch, q.idx, q.pos)
	return append(b, e.digits[:]...)
}

// fillSeqs formats the records' sequence numbers for an encoder other
// than appendGetRecordsJSON.
func (out *kGetRecordsOut) fillSeqs() {
	for i := range out.Records {
		out.Records[i].seq.fill(&out.Records[i].SequenceNumber)
	}
}

// plainJSON reports whether s needs no escaping in a JSON string.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendGetRecordsJSON encodes a GetRecords result as json.Marshal
// would; ok=false when a text needs escaping or child shards are listed
// (json.Marshal then writes it).
func appendGetRecordsJSON(b []byte, out *kGetRecordsOut) ([]byte, bool) {
	if out.ChildShards != nil || (out.NextShardIterator != nil && !plainJSON(*out.NextShardIterator)) {
		return b, false
	}
	b = append(b, `{"Records":[`...)
	var seqs seqCache
	for i := range out.Records {
		r := &out.Records[i]
		if !plainJSON(r.SequenceNumber) || !plainJSON(r.PartitionKey) || !plainJSON(r.EncryptionType) {
			return b, false
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"SequenceNumber":"`...)
		b = appendSeqField(b, &seqs, r.seq, r.SequenceNumber)
		b = append(b, `","ApproximateArrivalTimestamp":`...)
		b = strconv.AppendFloat(b, float64(time.Time(r.ApproximateArrivalTimestamp).UnixMilli())/1000, 'f', -1, 64)
		b = append(b, `,"Data":"`...)
		b = appendBase64(b, r.Data)
		b = append(b, `","PartitionKey":"`...)
		b = append(b, r.PartitionKey...)
		b = append(b, '"')
		if r.EncryptionType != "" {
			b = append(b, `,"EncryptionType":"`...)
			b = append(b, r.EncryptionType...)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if out.NextShardIterator != nil {
		b = append(b, `,"NextShardIterator":"`...)
		b = append(b, *out.NextShardIterator...)
		b = append(b, '"')
	}
	b = append(b, `,"MillisBehindLatest":`...)
	b = strconv.AppendInt(b, out.MillisBehindLatest, 10)
	return append(b, '}'), true
}

// getRecordsResult is out as the request's protocol wants it.
func getRecordsResult(req *request, out *kGetRecordsOut) any {
	if req.proto != protoJSON {
		out.fillSeqs()
		return out
	}
	n := 64
	for i := range out.Records {
		n += 160 + len(out.Records[i].PartitionKey) + base64.StdEncoding.EncodedLen(len(out.Records[i].Data))
	}
	b, ok := appendGetRecordsJSON(getArena(n), out)
	if ok {
		return rawJSON(b) // back to arenas once written
	}
	putArena(b)
	out.fillSeqs()
	return out
}
