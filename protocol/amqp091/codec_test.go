package amqp091_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/protocol/amqp091"
	"github.com/junctionmq/junction/protocol/amqp091/amqptest"
)

// decodeGolden decodes a golden frame's payload by its kind.
func decodeGolden(t *testing.T, g amqptest.Frame, f amqp091.Frame) {
	t.Helper()
	switch {
	case g.Method != nil:
		m, err := amqp091.DecodeMethod(f.Payload)
		if err != nil {
			t.Fatalf("DecodeMethod: %v", err)
		}
		if !reflect.DeepEqual(m, g.Method) {
			t.Fatalf("decoded %#v\nwant    %#v", m, g.Method)
		}
		var d amqp091.Decoder
		m2, err := d.DecodeMethod(f.Payload)
		if err != nil || !reflect.DeepEqual(m2, g.Method) {
			t.Fatalf("Decoder.DecodeMethod = %#v, %v", m2, err)
		}
		if m.Name() != amqp091.MethodName(m.ClassID(), m.MethodID()) {
			t.Fatalf("Name %q, MethodName %q", m.Name(), amqp091.MethodName(m.ClassID(), m.MethodID()))
		}
	case g.Header != nil:
		var h amqp091.ContentHeader
		if err := h.Decode(f.Payload); err != nil {
			t.Fatalf("ContentHeader.Decode: %v", err)
		}
		if !reflect.DeepEqual(&h, g.Header) {
			t.Fatalf("decoded %#v\nwant    %#v", h, *g.Header)
		}
	case g.Heartbeat:
		if len(f.Payload) != 0 {
			t.Fatalf("heartbeat payload %x", f.Payload)
		}
	default:
		if !bytes.Equal(f.Payload, g.Body) {
			t.Fatalf("body %q, want %q", f.Payload, g.Body)
		}
	}
}

// encodeGolden encodes a golden frame's value with the Writer.
func encodeGolden(t *testing.T, g amqptest.Frame) []byte {
	t.Helper()
	var w amqp091.Writer
	var err error
	switch {
	case g.Method != nil:
		err = w.WriteMethod(g.Channel, g.Method)
	case g.Header != nil:
		err = w.WriteHeader(g.Channel, g.Header.BodySize, &g.Header.Props)
	case g.Heartbeat:
		w.WriteHeartbeat()
	default:
		w.WriteBody(g.Channel, g.Body)
	}
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return w.Buf
}

func TestGoldenFrames(t *testing.T) {
	for _, g := range amqptest.Frames {
		t.Run(g.Name, func(t *testing.T) {
			f, n, err := amqp091.ParseFrame(g.Wire, amqp091.FrameMinSize)
			if err != nil || n != len(g.Wire) {
				t.Fatalf("ParseFrame = %d, %v; want %d", n, err, len(g.Wire))
			}
			if f.Type != g.Type || f.Channel != g.Channel {
				t.Fatalf("type %d channel %d, want %d %d", f.Type, f.Channel, g.Type, g.Channel)
			}
			decodeGolden(t, g, f)
			if got := encodeGolden(t, g); !bytes.Equal(got, g.Wire) {
				t.Fatalf("encoded\n%x\nwant\n%x", got, g.Wire)
			}
		})
	}
}

func TestGoldenTables(t *testing.T) {
	for _, g := range amqptest.Tables {
		t.Run(g.Name, func(t *testing.T) {
			got, err := amqp091.DecodeTable(g.Wire[4:])
			if err != nil {
				t.Fatalf("DecodeTable: %v", err)
			}
			if !reflect.DeepEqual(got, g.Table) {
				t.Fatalf("decoded %#v\nwant    %#v", got, g.Table)
			}
			var w amqp091.Writer
			w.PutTable(g.Table)
			if !bytes.Equal(w.Buf, g.Wire) {
				t.Fatalf("encoded\n%x\nwant\n%x", w.Buf, g.Wire)
			}
		})
	}
}

// TestTruncatedPayloads checks every proper prefix of every golden method
// and header payload fails cleanly, and that a trailing byte is refused.
func TestTruncatedPayloads(t *testing.T) {
	for _, g := range amqptest.Frames {
		if g.Method == nil && g.Header == nil {
			continue
		}
		payload := g.Wire[7 : len(g.Wire)-1]
		decode := func(p []byte) error {
			if g.Header != nil {
				var h amqp091.ContentHeader
				return h.Decode(p)
			}
			_, err := amqp091.DecodeMethod(p)
			return err
		}
		for i := range payload {
			if err := decode(payload[:i]); err == nil {
				t.Errorf("%s: prefix %d decoded without error", g.Name, i)
			}
		}
		if err := decode(append(bytes.Clone(payload), 0)); !errors.Is(err, amqp091.ErrTrailingBytes) {
			t.Errorf("%s: trailing byte: %v", g.Name, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		decode  func() error
		want    error
		wantErr uint16
	}{
		{"unknown method", func() error { _, err := amqp091.DecodeMethod([]byte{0, 60, 0, 99}); return err },
			amqp091.ErrUnknownMethod, amqp091.NotImplemented},
		{"short method ids", func() error { _, err := amqp091.DecodeMethod([]byte{0, 60}); return err },
			amqp091.ErrShortPayload, amqp091.FrameError},
		{"unknown field type", func() error { _, err := amqp091.DecodeTable([]byte{1, 'k', 'Z'}); return err },
			amqp091.ErrFieldType, amqp091.SyntaxError},
		{"long string past end", func() error {
			_, err := amqp091.DecodeTable([]byte{1, 'k', 'S', 0xff, 0xff, 0xff, 0xff, 'a'})
			return err
		}, amqp091.ErrShortPayload, amqp091.FrameError},
		{"unknown property flag", func() error {
			var h amqp091.ContentHeader
			return h.Decode([]byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02})
		}, amqp091.ErrPropertyFlags, amqp091.SyntaxError},
		{"flag continuation with more flags", func() error {
			var h amqp091.ContentHeader
			return h.Decode([]byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x80, 0})
		}, amqp091.ErrPropertyFlags, amqp091.SyntaxError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode()
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			var ae *amqp091.Error
			if !errors.As(err, &ae) || ae.Code != tt.wantErr || !ae.Hard() {
				t.Fatalf("err %v: want hard *Error with code %d", err, tt.wantErr)
			}
		})
	}
}

func TestTableDepthLimit(t *testing.T) {
	// The top table holds MaxTableDepth nested ones: {"k": {"k": ... {}}},
	// one level too many.
	inner := []byte{}
	for range amqp091.MaxTableDepth {
		field := append([]byte{1, 'k', 'F'}, be32(len(inner))...)
		inner = append(field, inner...)
	}
	if _, err := amqp091.DecodeTable(inner); !errors.Is(err, amqp091.ErrTableDepth) {
		t.Fatalf("err %v, want ErrTableDepth", err)
	}
	// One level less decodes.
	ok := inner[7:]
	if _, err := amqp091.DecodeTable(ok); err != nil {
		t.Fatalf("depth %d: %v", amqp091.MaxTableDepth, err)
	}
}

func be32(n int) []byte { return []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)} }

func TestWriterErrorsDropPartialFrame(t *testing.T) {
	var w amqp091.Writer
	w.WriteHeartbeat()
	long := string(make([]byte, 256))
	if err := w.WriteMethod(1, &amqp091.BasicPublish{Exchange: long}); !errors.Is(err, amqp091.ErrShortstrTooLong) {
		t.Fatalf("long shortstr: %v", err)
	}
	bad := &message.Properties{Flags: message.FlagHeaders, Headers: message.Table{{Key: "k", Value: struct{}{}}}}
	if err := w.WriteContent(1, &amqp091.BasicPublish{}, bad, []byte("x")); !errors.Is(err, amqp091.ErrTableValue) {
		t.Fatalf("bad table value: %v", err)
	}
	if w.Len() != 8 {
		t.Fatalf("buffer holds %d bytes, want only the heartbeat's 8", w.Len())
	}
	if err := w.WriteMethod(1, &amqp091.BasicAck{DeliveryTag: 1}); err != nil {
		t.Fatalf("after errors: %v", err)
	}
}

func TestWriteBodySplitsAtFrameMax(t *testing.T) {
	w := amqp091.Writer{FrameMax: 20} // 12 payload bytes per frame
	body := []byte("abcdefghijklmnopqrstuvwxyz0123")
	w.WriteBody(5, body)
	var got []byte
	var sizes []int
	for rest := w.Buf; len(rest) > 0; {
		f, n, err := amqp091.ParseFrame(rest, 20)
		if err != nil || n == 0 || f.Type != amqp091.FrameBody || f.Channel != 5 {
			t.Fatalf("frame: %+v n=%d err=%v", f, n, err)
		}
		got = append(got, f.Payload...)
		sizes = append(sizes, len(f.Payload))
		rest = rest[n:]
	}
	if !bytes.Equal(got, body) || !reflect.DeepEqual(sizes, []int{12, 12, 6}) {
		t.Fatalf("body %q in frames %v", got, sizes)
	}
}

func TestWriteContent(t *testing.T) {
	w := amqp091.Writer{FrameMax: 4096}
	p := message.Properties{Flags: message.FlagContentType, ContentType: "text/plain"}
	d := &amqp091.BasicDeliver{ConsumerTag: "c", DeliveryTag: 1, Exchange: "x", RoutingKey: "k"}
	if err := w.WriteContent(1, d, &p, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	var dec amqp091.Decoder
	rest := w.Buf
	next := func() amqp091.Frame {
		f, n, err := amqp091.ParseFrame(rest, 4096)
		if err != nil || n == 0 {
			t.Fatalf("ParseFrame: %d %v", n, err)
		}
		rest = rest[n:]
		return f
	}
	if m, err := dec.DecodeMethod(next().Payload); err != nil || !reflect.DeepEqual(m, d) {
		t.Fatalf("method %#v %v", m, err)
	}
	h, err := dec.DecodeHeader(next().Payload)
	if err != nil || h.BodySize != 2 || !reflect.DeepEqual(h.Props, p) {
		t.Fatalf("header %#v %v", h, err)
	}
	if f := next(); string(f.Payload) != "hi" || len(rest) != 0 {
		t.Fatalf("body %q, %d bytes left", f.Payload, len(rest))
	}
}

func TestErrorHardness(t *testing.T) {
	soft := &amqp091.Error{Code: amqp091.NotFound, Text: "no queue 'q'"}
	if soft.Hard() || soft.Error() != "amqp091: 404 NOT_FOUND - no queue 'q'" {
		t.Fatalf("%v hard=%v", soft, soft.Hard())
	}
	if !amqp091.ErrFrameEnd.Hard() || amqp091.ErrFrameEnd.Code != 501 {
		t.Fatalf("ErrFrameEnd %v", amqp091.ErrFrameEnd)
	}
}
