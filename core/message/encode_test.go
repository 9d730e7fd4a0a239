package message

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

// fullMessage sets every field, and a header of every value type.
func fullMessage() *Message {
	ts := time.Unix(1700000000, 123456789)
	return &Message{
		ID: 1<<40 + 7, Exchange: "amq.topic", RoutingKey: "a.b.c",
		Props: Properties{
			Flags:       FlagContentType | FlagHeaders | FlagDeliveryMode | FlagClusterID,
			ContentType: "text/plain", ContentEncoding: "gzip",
			Headers: Table{
				{"bool", true}, {"i8", int8(-8)}, {"u8", uint8(200)},
				{"i16", int16(-1600)}, {"u16", uint16(60000)},
				{"i32", int32(-1 << 31)}, {"u32", uint32(1<<32 - 1)},
				{"i64", int64(-1 << 63)}, {"u64", uint64(1<<64 - 1)},
				{"f32", float32(1.5)}, {"f64", 2.25},
				{"dec", Decimal{Scale: 2, Value: -12345}},
				{"str", "héllo"}, {"bytes", []byte{0, 1, 2}}, {"empty", []byte{}},
				{"arr", []any{int64(1), "x", nil, []any{true}, Table{{"k", uint8(1)}}}},
				{"time", ts}, {"tbl", Table{{"inner", "v"}, {"inner", "dup"}}},
				{"void", nil},
			},
			DeliveryMode: 2, Priority: 9, CorrelationID: "corr", ReplyTo: "rq",
			Expiration: "60000", MessageID: "mid", Timestamp: 1700000000,
			Type: "t", UserID: "guest", AppID: "app", ClusterID: "c",
		},
		Body: []byte("payload"), Origin: FaceMQTT, Arrived: 1700000000123456789,
		DelayUntil: -5, GroupID: "g", DedupID: "dd",
		MQTT: &MQTTMeta{Topic: "a/b/c", QoS: 2, Retain: true,
			UserProperties: []UserProperty{{"k", "v"}, {"k", "w"}},
			ResponseTopic:  "resp", CorrelationData: []byte{9}, PayloadFormat: 1,
			HasExpiry: true, ExpirySeconds: 1<<32 - 1, ContentType: "json"},
		AWS: &AWSMeta{
			SQSAttributes: []SQSAttribute{
				{Name: "n", DataType: "Number.float", StringValue: "1.5"},
				{Name: "b", DataType: "Binary.custom", BinaryValue: []byte{1}},
			},
			MessageGroupID: "mg", DeduplicationID: "dup", SNSSubject: "subj",
			PartitionKey: "pk", ExplicitHashKey: "123"},
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		m    *Message
	}{
		{"zero", &Message{}},
		{"full", fullMessage()},
		{"body only", &Message{Body: []byte{0xff}}},
		{"flags without values", &Message{Props: Properties{Flags: FlagReplyTo}}},
		{"empty metas", &Message{MQTT: &MQTTMeta{}, AWS: &AWSMeta{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("prefix")
			data := Marshal(prefix, tt.m)
			if !bytes.HasPrefix(data, []byte("prefix")) {
				t.Fatal("Marshal did not append to dst")
			}
			got, err := Unmarshal(data[len(prefix):])
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !reflect.DeepEqual(got, tt.m) {
				t.Fatalf("round trip mismatch:\n got %#v\nwant %#v", got, tt.m)
			}
		})
	}
}

func TestUnmarshalCopies(t *testing.T) {
	data := Marshal(nil, fullMessage())
	m, err := Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = 0xAA
	}
	if !reflect.DeepEqual(m, fullMessage()) {
		t.Fatal("Unmarshal result aliases its input")
	}
}

func TestUnmarshalErrors(t *testing.T) {
	full := Marshal(nil, fullMessage())
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"version", []byte{2, 0}, ErrEncodingVersion},
		{"truncated", full[:len(full)/2], ErrTruncated},
		{"trailing", append(Marshal(nil, &Message{}), 0), ErrMalformed},
		{"unknown mask", []byte{1, 0x80, 0x40}, ErrMalformed},
		{"huge count", []byte{1, byte(hasProps), 0, 0, 0, 4, 0xff, 0xff, 0xff, 0x0f}, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Unmarshal(tt.data); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// deep nests n arrays.
func deep(n int) any {
	var v any = "leaf"
	for range n {
		v = []any{v}
	}
	return v
}

func TestNestingDepth(t *testing.T) {
	ok := &Message{Props: Properties{Headers: Table{{"d", deep(MaxNestingDepth - 2)}}}}
	got, err := Unmarshal(Marshal(nil, ok))
	if err != nil || !reflect.DeepEqual(got, ok) {
		t.Fatalf("depth %d: err %v, equal %v", MaxNestingDepth-2, err, reflect.DeepEqual(got, ok))
	}
	// Marshal cuts values past the bound to void, so its output still decodes.
	tooDeep := &Message{Props: Properties{Headers: Table{{"d", deep(MaxNestingDepth * 4)}}}}
	if _, err := Unmarshal(Marshal(nil, tooDeep)); err != nil {
		t.Fatalf("Marshal output past the bound does not decode: %v", err)
	}
	// Hand-built input past the bound is refused, not recursed into.
	data := []byte{1, byte(hasProps), 0, 0, 0, 4, 1, 1, 'k'}
	for range 10000 {
		data = append(data, tagArray, 1)
	}
	data = append(data, tagVoid)
	if _, err := Unmarshal(data); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
}

func BenchmarkMarshal(b *testing.B) {
	m := fullMessage()
	b.ReportAllocs()
	buf := make([]byte, 0, 2048)
	for b.Loop() {
		buf = Marshal(buf[:0], m)
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	data := Marshal(nil, &Message{ID: 1, Exchange: "x", RoutingKey: "k",
		Props: Properties{Flags: FlagDeliveryMode, DeliveryMode: 2}, Body: make([]byte, 1024)})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unmarshal(data); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add(Marshal(nil, fullMessage()))
	f.Add(Marshal(nil, &Message{}))
	f.Add([]byte{1, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Unmarshal(data)
		if err != nil {
			return
		}
		// What decodes re-encodes to something that decodes the same.
		again, err := Unmarshal(Marshal(nil, m))
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !reflect.DeepEqual(normalize(m), normalize(again)) {
			t.Fatalf("re-encoding differs:\n%#v\n%#v", m, again)
		}
	})
}

// normalize makes NaN floats comparable by re-encoding nothing: DeepEqual
// treats NaN != NaN, so compare encodings instead.
func normalize(m *Message) string { return string(Marshal(nil, m)) }

// TestUnmarshalView checks that UnmarshalView decodes what Unmarshal
// does, into a reused message, with the body a capped view of the input.
func TestUnmarshalView(t *testing.T) {
	var m Message
	for _, want := range []*Message{fullMessage(), {}, {Body: []byte{0xff}, RoutingKey: "k"}, fullMessage()} {
		data := Marshal(nil, want)
		if err := UnmarshalView(data, &m); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&m, want) {
			t.Fatalf("UnmarshalView:\n got %#v\nwant %#v", &m, want)
		}
		if len(m.Body) > 0 {
			i := bytes.Index(data, want.Body)
			if &m.Body[0] != &data[i] || cap(m.Body) != len(m.Body) {
				t.Fatal("body is not a capped view of the input")
			}
		}
	}
	if err := UnmarshalView(Marshal(nil, fullMessage())[:20], &m); !errors.Is(err, ErrTruncated) {
		t.Fatalf("err = %v, want %v", err, ErrTruncated)
	}
}
