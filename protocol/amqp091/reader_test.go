package amqp091_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/junctionmq/junction/protocol/amqp091"
	"github.com/junctionmq/junction/protocol/amqp091/amqptest"
)

// chunks is an io.Reader returning its parts one Read at a time.
type chunks struct{ parts [][]byte }

func (c *chunks) Read(p []byte) (int, error) {
	for len(c.parts) > 0 && len(c.parts[0]) == 0 {
		c.parts = c.parts[1:]
	}
	if len(c.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.parts[0])
	c.parts[0] = c.parts[0][n:]
	return n, nil
}

// readAll reads the protocol header and then frames until EOF.
func readAll(src io.Reader) ([]amqp091.Frame, error) {
	r := amqp091.NewReader(src, amqp091.FrameMinSize)
	if err := r.ReadProtocolHeader(); err != nil {
		return nil, err
	}
	var out []amqp091.Frame
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		f.Payload = bytes.Clone(f.Payload)
		out = append(out, f)
	}
}

func checkStream(t *testing.T, frames []amqp091.Frame, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if len(frames) != len(amqptest.Frames) {
		t.Fatalf("read %d frames, want %d", len(frames), len(amqptest.Frames))
	}
	for i, g := range amqptest.Frames {
		f := frames[i]
		if f.Type != g.Type || f.Channel != g.Channel || !bytes.Equal(f.Payload, g.Wire[7:len(g.Wire)-1]) {
			t.Fatalf("frame %d (%s): %+v", i, g.Name, f)
		}
	}
}

func TestReaderSplitEverywhere(t *testing.T) {
	stream := amqptest.Stream()
	for i := range len(stream) + 1 {
		frames, err := readAll(&chunks{parts: [][]byte{bytes.Clone(stream[:i]), bytes.Clone(stream[i:])}})
		checkStream(t, frames, err)
	}
}

func TestReaderOneByteAtATime(t *testing.T) {
	frames, err := readAll(iotest.OneByteReader(bytes.NewReader(amqptest.Stream())))
	checkStream(t, frames, err)
}

func TestReaderBigFrames(t *testing.T) {
	var w amqp091.Writer
	w.WriteProtocolHeader()
	body := bytes.Repeat([]byte("0123456789"), 20000)
	w.FrameMax = 131072
	for range 3 {
		w.WriteBody(1, body)
		w.WriteHeartbeat()
	}
	r := amqp091.NewReader(iotest.HalfReader(bytes.NewReader(w.Buf)), 131072)
	if err := r.ReadProtocolHeader(); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Type == amqp091.FrameBody {
			got = append(got, f.Payload...)
		}
	}
	if !bytes.Equal(got, bytes.Repeat(body, 3)) {
		t.Fatalf("read %d body bytes, want %d", len(got), 3*len(body))
	}
	r.Shrink()
}

func TestReaderErrors(t *testing.T) {
	hb := []byte{8, 0, 0, 0, 0, 0, 0, 0xCE}
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"bad frame end", append([]byte(amqp091.ProtocolHeader), 8, 0, 0, 0, 0, 0, 0, 0xCD), amqp091.ErrFrameEnd},
		{"unknown frame type", append([]byte(amqp091.ProtocolHeader), 4, 0, 0, 0, 0, 0, 0, 0xCE), amqp091.ErrFrameType},
		{"frame over frame_max", append([]byte(amqp091.ProtocolHeader), 3, 0, 1, 0, 0, 0x20, 0, 0), amqp091.ErrFrameTooLarge},
		{"truncated frame", append([]byte(amqp091.ProtocolHeader), hb[:5]...), io.ErrUnexpectedEOF},
		{"AMQP 0-9 header", append([]byte("AMQP\x01\x01\x00\x09"), hb...), amqp091.ErrProtocolHeader},
		{"HTTP request", []byte("GET / HTTP/1.1\r\n\r\n"), amqp091.ErrProtocolHeader},
		{"short header", []byte("AMQP"), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(bytes.NewReader(tt.input))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			var ae *amqp091.Error
			if errors.As(err, &ae) && ae.Code != amqp091.FrameError {
				t.Fatalf("code %d, want FrameError", ae.Code)
			}
		})
	}
}
