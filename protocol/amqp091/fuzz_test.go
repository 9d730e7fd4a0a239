package amqp091_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/junctionmq/junction/protocol/amqp091"
	"github.com/junctionmq/junction/protocol/amqp091/amqptest"
)

// readFrames reads frames until an error, cloning payloads.
func readFrames(src io.Reader) ([]amqp091.Frame, error) {
	r := amqp091.NewReader(src, amqp091.FrameMinSize)
	var out []amqp091.Frame
	for {
		f, err := r.ReadFrame()
		if err != nil {
			return out, err
		}
		f.Payload = bytes.Clone(f.Payload)
		out = append(out, f)
	}
}

// roundTripMethod checks that a decodable method re-encodes to bytes that
// decode to the same encoding.
func roundTripMethod(t *testing.T, payload []byte) {
	m, err := amqp091.DecodeMethod(payload)
	if err != nil {
		return
	}
	var d amqp091.Decoder
	if _, err := d.DecodeMethod(payload); err != nil {
		t.Fatalf("Decoder failed where DecodeMethod did not: %v", err)
	}
	var w1, w2 amqp091.Writer
	m.Write(&w1)
	m2, err := amqp091.DecodeMethod(w1.Buf)
	if err != nil {
		t.Fatalf("re-decode %s: %v", m.Name(), err)
	}
	m2.Write(&w2)
	if !bytes.Equal(w1.Buf, w2.Buf) {
		t.Fatalf("%s: unstable encoding\n%x\n%x", m.Name(), w1.Buf, w2.Buf)
	}
}

func roundTripHeader(t *testing.T, payload []byte) {
	var h amqp091.ContentHeader
	if h.Decode(payload) != nil {
		return
	}
	var w1, w2 amqp091.Writer
	w1.PutShort(h.ClassID)
	w1.PutShort(h.Weight)
	w1.PutLongLong(h.BodySize)
	w1.PutProperties(&h.Props)
	var h2 amqp091.ContentHeader
	if err := h2.Decode(w1.Buf); err != nil {
		t.Fatalf("re-decode header: %v", err)
	}
	w2.PutShort(h2.ClassID)
	w2.PutShort(h2.Weight)
	w2.PutLongLong(h2.BodySize)
	w2.PutProperties(&h2.Props)
	if !bytes.Equal(w1.Buf, w2.Buf) {
		t.Fatalf("unstable header encoding\n%x\n%x", w1.Buf, w2.Buf)
	}
}

func FuzzFrameReader(f *testing.F) {
	f.Add(amqptest.Stream()[len(amqp091.ProtocolHeader):], uint16(7))
	for _, g := range amqptest.Frames {
		f.Add(g.Wire, uint16(len(g.Wire)/2))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		whole, errWhole := readFrames(bytes.NewReader(data))
		at := int(split) % (len(data) + 1)
		parts, errParts := readFrames(&chunks{parts: [][]byte{bytes.Clone(data[:at]), bytes.Clone(data[at:])}})
		if errWhole != errParts || len(whole) != len(parts) {
			t.Fatalf("whole: %d frames, %v; split at %d: %d frames, %v", len(whole), errWhole, at, len(parts), errParts)
		}
		for i := range whole {
			a, b := whole[i], parts[i]
			if a.Type != b.Type || a.Channel != b.Channel || !bytes.Equal(a.Payload, b.Payload) {
				t.Fatalf("frame %d differs: %+v vs %+v", i, a, b)
			}
			switch a.Type {
			case amqp091.FrameMethod:
				roundTripMethod(t, a.Payload)
			case amqp091.FrameHeader:
				roundTripHeader(t, a.Payload)
			}
		}
	})
}

func FuzzDecodeMethod(f *testing.F) {
	for _, g := range amqptest.Frames {
		if g.Method != nil {
			f.Add(g.Wire[7 : len(g.Wire)-1])
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		roundTripMethod(t, payload)
	})
}

func FuzzTable(f *testing.F) {
	for _, g := range amqptest.Tables {
		f.Add(g.Wire[4:])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tbl, err := amqp091.DecodeTable(data)
		if err != nil {
			return
		}
		var w1, w2 amqp091.Writer
		w1.PutTable(tbl)
		tbl2, err := amqp091.DecodeTable(w1.Buf[4:])
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		w2.PutTable(tbl2)
		if !bytes.Equal(w1.Buf, w2.Buf) {
			t.Fatalf("unstable table encoding\n%x\n%x", w1.Buf, w2.Buf)
		}
	})
}
