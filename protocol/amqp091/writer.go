package amqp091

import (
	"encoding/binary"

	"github.com/junctionmq/junction/core/message"
)

// ProtocolHeader opens every AMQP 0-9-1 connection; a server that does not
// accept the client's header answers with this one and closes the socket.
// AMQP 0-9-1 4.2.2.
const ProtocolHeader = "AMQP\x00\x00\x09\x01"

// frameOverhead is the type, channel and size header plus the frame-end
// octet. AMQP 0-9-1 4.2.3.
const frameOverhead = 8

// Writer appends frames to Buf. It never allocates beyond growing Buf, so
// a connection can keep one Writer, swap Buf out to write it in one
// syscall, and reuse the old slice.
//
// The Put methods append single fields; an encoding error (a short string
// over 255 bytes, an unsupported table value) is recorded and reported by
// the enclosing Write call, which then removes the partial frame.
type Writer struct {
	// Buf holds the encoded frames.
	Buf []byte
	// FrameMax is the negotiated frame_max; WriteBody splits bodies so no
	// frame exceeds it. Zero means no limit.
	FrameMax uint32

	err error
}

func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// Len returns the number of buffered bytes.
func (w *Writer) Len() int { return len(w.Buf) }

// Reset empties Buf, keeping its capacity.
func (w *Writer) Reset() {
	w.Buf = w.Buf[:0]
	w.err = nil
}

// PutOctet appends one octet.
func (w *Writer) PutOctet(v uint8) { w.Buf = append(w.Buf, v) }

// PutShort appends a big-endian uint16.
func (w *Writer) PutShort(v uint16) { w.Buf = binary.BigEndian.AppendUint16(w.Buf, v) }

// PutLong appends a big-endian uint32.
func (w *Writer) PutLong(v uint32) { w.Buf = binary.BigEndian.AppendUint32(w.Buf, v) }

// PutLongLong appends a big-endian uint64.
func (w *Writer) PutLongLong(v uint64) { w.Buf = binary.BigEndian.AppendUint64(w.Buf, v) }

// PutShortstr appends a short string (octet length). AMQP 0-9-1 4.2.5.3.
func (w *Writer) PutShortstr(s string) {
	if len(s) > 255 {
		w.fail(ErrShortstrTooLong)
		s = ""
	}
	w.Buf = append(w.Buf, uint8(len(s)))
	w.Buf = append(w.Buf, s...)
}

// PutLongstr appends a long string (uint32 length). AMQP 0-9-1 4.2.5.3.
func (w *Writer) PutLongstr(s string) {
	w.PutLong(uint32(len(s)))
	w.Buf = append(w.Buf, s...)
}

// lengthPrefix reserves a uint32 length and returns where it starts.
func (w *Writer) lengthPrefix() int {
	start := len(w.Buf)
	w.Buf = append(w.Buf, 0, 0, 0, 0)
	return start
}

// patchLength fills in the length reserved at start.
func (w *Writer) patchLength(start int) {
	binary.BigEndian.PutUint32(w.Buf[start:], uint32(len(w.Buf)-start-4))
}

// BeginFrame appends a frame header with a size to be filled in by
// EndFrame, and returns the frame's start offset. Between the two, append
// the payload with the Put methods or a method's Write.
func (w *Writer) BeginFrame(typ uint8, channel uint16) int {
	start := len(w.Buf)
	w.Buf = append(w.Buf, typ, uint8(channel>>8), uint8(channel), 0, 0, 0, 0)
	return start
}

// EndFrame fills in the size of the frame begun at start and appends the
// frame-end octet. If an encoding error was recorded since, it drops the
// partial frame and returns the error.
func (w *Writer) EndFrame(start int) error {
	if w.err != nil {
		err := w.err
		w.err = nil
		w.Buf = w.Buf[:start]
		return err
	}
	binary.BigEndian.PutUint32(w.Buf[start+3:], uint32(len(w.Buf)-start-7))
	w.Buf = append(w.Buf, FrameEnd)
	return nil
}

// WriteMethod appends a method frame. AMQP 0-9-1 4.2.4.
//
// m escapes through the interface call, so a fresh composite literal
// costs one allocation. To stay allocation-free, pass a value the
// connection keeps, or call BeginFrame, the concrete m.Write, EndFrame.
func (w *Writer) WriteMethod(channel uint16, m Method) error {
	start := w.BeginFrame(FrameMethod, channel)
	m.Write(w)
	return w.EndFrame(start)
}

// WriteHeader appends a content header frame for the basic class.
// AMQP 0-9-1 4.2.6.1.
func (w *Writer) WriteHeader(channel uint16, bodySize uint64, p *message.Properties) error {
	start := w.BeginFrame(FrameHeader, channel)
	w.PutShort(ClassBasic)
	w.PutShort(0) // weight, unused
	w.PutLongLong(bodySize)
	w.PutProperties(p)
	return w.EndFrame(start)
}

// WriteBody appends body frames, splitting body so that no frame exceeds
// FrameMax. An empty body writes no frame. AMQP 0-9-1 4.2.6.2.
func (w *Writer) WriteBody(channel uint16, body []byte) {
	limit := len(body)
	if w.FrameMax > frameOverhead && int64(w.FrameMax-frameOverhead) < int64(limit) {
		limit = int(w.FrameMax - frameOverhead)
	}
	for len(body) > 0 {
		n := min(limit, len(body))
		start := w.BeginFrame(FrameBody, channel)
		w.Buf = append(w.Buf, body[:n]...)
		binary.BigEndian.PutUint32(w.Buf[start+3:], uint32(n))
		w.Buf = append(w.Buf, FrameEnd)
		body = body[n:]
	}
}

// WriteContent appends a content-bearing method (basic.publish,
// basic.deliver, basic.get-ok, basic.return), its content header and its
// body frames. On an encoding error nothing is appended.
func (w *Writer) WriteContent(channel uint16, m Method, p *message.Properties, body []byte) error {
	start := len(w.Buf)
	if err := w.WriteMethod(channel, m); err != nil {
		return err
	}
	if err := w.WriteHeader(channel, uint64(len(body)), p); err != nil {
		w.Buf = w.Buf[:start]
		return err
	}
	w.WriteBody(channel, body)
	return nil
}

// WriteHeartbeat appends a heartbeat frame. AMQP 0-9-1 4.2.7.
func (w *Writer) WriteHeartbeat() {
	w.Buf = append(w.Buf, FrameHeartbeat, 0, 0, 0, 0, 0, 0, FrameEnd)
}

// WriteProtocolHeader appends ProtocolHeader.
func (w *Writer) WriteProtocolHeader() {
	w.Buf = append(w.Buf, ProtocolHeader...)
}
