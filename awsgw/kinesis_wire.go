package awsgw

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Kinesis speaks AWS JSON 1.1 and, for the Java SDK and the KCL, CBOR
// (application/x-amz-cbor-1.1). Both decode into one generic tree (maps,
// lists, strings, numbers, []byte, time.Time) that kinesisSchema checks
// member by member as Kinesis does, so both protocols get the same
// SerializationException and ValidationException texts.

const (
	ctKinesisJSON = "application/x-amz-json-1.1"
	ctKinesisCBOR = "application/x-amz-cbor-1.1"
)

// kinesisCBORDec decodes CBOR maps with string keys, as Kinesis sends
// them; anything else is a SerializationException.
var kinesisCBORDec, _ = cbor.DecOptions{
	DefaultMapType:   reflect.TypeOf(map[string]any(nil)),
	MaxNestedLevels:  32,
	MaxArrayElements: 65536,
	MaxMapPairs:      65536,
}.DecMode()

// kinesisCBOREnc encodes responses: []byte as byte strings, Go struct
// fields by their json names.
var kinesisCBOREnc, _ = cbor.EncOptions{}.EncMode()

// decodeKinesisBody decodes a JSON or CBOR body into a generic map.
func decodeKinesisBody(proto protocol, body []byte) (map[string]any, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, newErr(400, "SerializationException", "SerializationException", "")
	}
	var v any
	if proto == protoCBOR {
		if err := kinesisCBORDec.Unmarshal(body, &v); err != nil {
			return nil, newErr(400, "SerializationException", "SerializationException", "")
		}
	} else {
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		if err := d.Decode(&v); err != nil || d.More() {
			return nil, newErr(400, "SerializationException", "SerializationException", "")
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, newErr(400, "SerializationException", "SerializationException", "")
	}
	return m, nil
}

// kinesisType is a member's shape in the Kinesis service model.
type kinesisType uint8

const (
	tString kinesisType = iota
	tInteger
	tLong
	tBoolean
	tBlob
	tTimestamp
	tList
	tMap
	tStruct
)

var typeNames = map[kinesisType]string{tInteger: "Integer", tLong: "Long", tString: "String", tBoolean: "Boolean"}

// typeError is Kinesis's SerializationException for a member of the
// wrong JSON type (texts from the Coral JSON deserializer).
func typeError(msg string) *apiError {
	return newErr(400, "SerializationException", "SerializationException", "%s", msg)
}

// number classifies a decoded number: JSON numbers arrive as json.Number,
// CBOR ones as integers or floats.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil || f != 0
	case uint64:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	return 0, false
}

// wrongShape reports the Coral message for a list or map where a scalar
// was expected, or "" when v is neither.
func wrongShape(v any) string {
	switch v.(type) {
	case []any:
		return "Start of list found where not expected"
	case map[string]any:
		return "Start of structure or map found where not expected."
	}
	return ""
}

// checkType converts v to the member's Go type: string, int64, bool,
// []byte, time.Time, []any or map[string]any.
func checkType(v any, f *field) (any, *apiError) {
	if msg := wrongShape(v); msg != "" && f.typ < tList {
		return nil, typeError(msg)
	}
	switch f.typ {
	case tString:
		return checkString(v)
	case tInteger, tLong:
		return checkInt(v, f.typ)
	case tBoolean:
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			return nil, typeError("'" + b + "' can not be converted to an Boolean")
		}
		return nil, typeError("class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean")
	case tBlob:
		return checkBlob(v)
	case tTimestamp:
		return checkTimestamp(v)
	case tList:
		return checkList(v, f)
	case tMap:
		return checkMap(v, f)
	}
	m, ok := v.(map[string]any)
	if !ok {
		if _, isList := v.([]any); isList {
			return nil, typeError("Start of list found where not expected")
		}
		return nil, typeError("Expected null")
	}
	return checkMembers(m, f.members)
}

func checkString(v any) (any, *apiError) {
	switch s := v.(type) {
	case string:
		return s, nil
	case bool:
		return nil, typeError("class java.lang.Boolean can not be converted to an String")
	case []byte:
		return string(s), nil
	}
	return nil, typeError("class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String")
}

func checkInt(v any, t kinesisType) (any, *apiError) {
	switch v.(type) {
	case bool:
		return nil, typeError("class java.lang.Boolean can not be converted to an " + typeNames[t])
	case string:
		return nil, typeError("class java.lang.String can not be converted to an " + typeNames[t])
	}
	n, ok := number(v)
	if !ok {
		return nil, typeError("class java.lang.String can not be converted to an " + typeNames[t])
	}
	n = math.Floor(n)
	if t == tInteger {
		n = math.Max(math.Min(n, math.MaxInt32), math.MinInt32)
	}
	if n >= math.MaxInt64 {
		return int64(math.MaxInt64), nil
	}
	if n <= math.MinInt64 {
		return int64(math.MinInt64), nil
	}
	return int64(n), nil
}

func checkBlob(v any) (any, *apiError) {
	switch b := v.(type) {
	case []byte:
		return b, nil
	case bool:
		return nil, typeError("class java.lang.Boolean can not be converted to a Blob")
	case string:
		if len(b)%4 != 0 {
			return nil, typeError("'" + b + "' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: " + strconv.Itoa(len(b)))
		}
		data, err := base64.StdEncoding.Strict().DecodeString(b)
		if err != nil {
			for _, c := range b {
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
					return nil, typeError("'" + b + "' can not be converted to a Blob: Invalid Base64 character: '" + string(c) + "'")
				}
			}
			return nil, typeError("'" + b + "' can not be converted to a Blob: Invalid last non-pad Base64 character dectected")
		}
		return data, nil
	}
	return nil, typeError("class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob")
}

// checkTimestamp reads epoch seconds (JSON; fractions allowed) or a CBOR
// tag 1, which the Java SDK fills with epoch milliseconds.
func checkTimestamp(v any) (any, *apiError) {
	switch t := v.(type) {
	case bool:
		return nil, typeError("class java.lang.Boolean can not be converted to milliseconds since epoch")
	case string:
		return nil, typeError("class java.lang.String can not be converted to milliseconds since epoch")
	case time.Time:
		if s := t.Unix(); s > 1e11 || s < -1e11 { // milliseconds in a seconds tag
			return time.UnixMilli(s).UTC(), nil
		}
		return t, nil
	case cbor.Tag:
		return checkTimestamp(t.Content)
	}
	n, ok := number(v)
	if !ok {
		return nil, typeError("class java.lang.String can not be converted to milliseconds since epoch")
	}
	if _, isJSON := v.(json.Number); !isJSON && math.Abs(n) > 1e11 {
		return time.UnixMilli(int64(n)).UTC(), nil
	}
	sec, frac := math.Modf(n)
	return time.Unix(int64(sec), int64(math.Round(frac*1e3))*1e6).UTC(), nil
}

func checkList(v any, f *field) (any, *apiError) {
	l, ok := v.([]any)
	if !ok {
		if _, isMap := v.(map[string]any); isMap {
			return nil, typeError("Start of structure or map found where not expected.")
		}
		return nil, typeError("Expected list or null")
	}
	out := make([]any, 0, len(l))
	for _, item := range l {
		if item == nil {
			continue
		}
		c, aerr := checkType(item, f.elem)
		if aerr != nil {
			return nil, aerr
		}
		out = append(out, c)
	}
	return out, nil
}

func checkMap(v any, f *field) (any, *apiError) {
	m, ok := v.(map[string]any)
	if !ok {
		if _, isList := v.([]any); isList {
			return nil, typeError("Start of list found where not expected")
		}
		return nil, typeError("Expected map or null")
	}
	out := make(map[string]any, len(m))
	for k, item := range m {
		if item == nil {
			continue
		}
		c, aerr := checkType(item, f.elem)
		if aerr != nil {
			return nil, aerr
		}
		out[k] = c
	}
	return out, nil
}

// checkMembers keeps the known, non-null members of m, converted.
func checkMembers(m map[string]any, members []field) (map[string]any, *apiError) {
	out := make(map[string]any, len(members))
	for i := range members {
		f := &members[i]
		v, ok := m[f.name]
		if !ok || v == nil {
			continue
		}
		c, aerr := checkType(v, f)
		if aerr != nil {
			return nil, aerr
		}
		out[f.name] = c
	}
	return out, nil
}

// awsTime is a timestamp in a response: epoch seconds with milliseconds
// in JSON, CBOR tag 1 with epoch milliseconds as the Java SDK reads it.
type awsTime time.Time

// MarshalJSON writes epoch seconds.
func (t awsTime) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// MarshalCBOR writes tag 1 with epoch milliseconds.
func (t awsTime) MarshalCBOR() ([]byte, error) {
	return cbor.Marshal(cbor.Tag{Number: 1, Content: time.Time(t).UnixMilli()})
}

// writeKinesisResult sends a Kinesis result in the request's encoding.
func (s *Server) writeKinesisResult(w http.ResponseWriter, req *request, out any) {
	if raw, ok := out.(rawJSON); ok { // only ever made for JSON requests
		w.Header().Set("Content-Type", ctKinesisJSON)
		w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
		_, _ = w.Write(raw)
		putArena(raw) // Write keeps no reference (HTTP/2's waits for the frames to go out)
		return
	}
	if out == nil || reflect.ValueOf(out).IsNil() {
		out = struct{}{}
	}
	writeKinesis(w, req, http.StatusOK, out)
}

// writeKinesisError sends e as Kinesis does: {"__type": ..., "message": ...}.
func (s *Server) writeKinesisError(w http.ResponseWriter, req *request, e *apiError) {
	if e.Status >= 500 {
		s.log.Warn("request failed", "request_id", req.id, "action", req.action, "code", e.Code)
	}
	body := map[string]string{"__type": e.Type}
	if e.Message != "" {
		body["message"] = e.Message
	}
	writeKinesis(w, req, e.Status, body)
}

func writeKinesis(w http.ResponseWriter, req *request, status int, v any) {
	var body []byte
	var err error
	if req.proto == protoCBOR {
		w.Header().Set("Content-Type", ctKinesisCBOR)
		body, err = kinesisCBOREnc.Marshal(v)
	} else {
		w.Header().Set("Content-Type", ctKinesisJSON)
		body, err = json.Marshal(v)
	}
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"__type":"InternalFailure"}`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
