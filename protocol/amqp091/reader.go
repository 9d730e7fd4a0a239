package amqp091

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Frame is one AMQP frame. AMQP 0-9-1 4.2.3.
type Frame struct {
	Type    uint8 // FrameMethod, FrameHeader, FrameBody or FrameHeartbeat
	Channel uint16
	Payload []byte
}

// ParseFrame parses one frame from the front of b in place: Payload
// aliases b. It returns the number of bytes the frame took, or n == 0 and
// a nil error when b does not yet hold a whole frame. frameMax bounds the
// whole frame (header and frame-end octet included); 0 means no limit.
func ParseFrame(b []byte, frameMax uint32) (f Frame, n int, err error) {
	if len(b) < 7 {
		return Frame{}, 0, nil
	}
	switch b[0] {
	case FrameMethod, FrameHeader, FrameBody, FrameHeartbeat:
	default:
		return Frame{}, 0, ErrFrameType
	}
	size := binary.BigEndian.Uint32(b[3:7])
	if frameMax != 0 && uint64(size)+frameOverhead > uint64(frameMax) {
		return Frame{}, 0, ErrFrameTooLarge
	}
	total := uint64(size) + frameOverhead
	if uint64(len(b)) < total {
		return Frame{}, 0, nil
	}
	if b[total-1] != FrameEnd {
		return Frame{}, 0, ErrFrameEnd
	}
	f = Frame{
		Type:    b[0],
		Channel: binary.BigEndian.Uint16(b[1:3]),
		Payload: b[7 : total-1 : total-1],
	}
	return f, int(total), nil
}

// Default and bounds of the Reader's buffer.
const (
	readBufMin = 4 << 10  // an idle or quiet connection's buffer
	readBufMax = 64 << 10 // the most a busy connection reads ahead
)

// Reader reads frames from a byte stream (a net.Conn, unbuffered: Reader
// buffers). Each read takes as many bytes as are available, so one
// syscall yields many small frames. The buffer starts small, doubles while
// reads keep filling it and shrinks back on Shrink.
//
// A Frame's Payload aliases the buffer and is valid only until the next
// call to ReadFrame or Shrink.
type Reader struct {
	src      io.Reader
	buf      []byte
	pos, end int // unparsed bytes are buf[pos:end]
	frameMax uint32
	grow     bool // the last read filled the buffer
}

// NewReader returns a Reader of src accepting frames up to frameMax bytes
// (use FrameMinSize until connection.tune-ok). 0 means no limit, which lets
// a peer make the Reader allocate up to 4 GiB: use it for trusted input only.
func NewReader(src io.Reader, frameMax uint32) *Reader {
	return &Reader{src: src, frameMax: frameMax}
}

// SetFrameMax changes the frame size limit, as negotiated by
// connection.tune-ok. AMQP 0-9-1 4.2.3.
func (r *Reader) SetFrameMax(n uint32) { r.frameMax = n }

// Buffered returns the number of bytes read but not yet parsed.
func (r *Reader) Buffered() int { return r.end - r.pos }

// Shrink releases a grown buffer when nothing is buffered, so an idle
// connection stays small. Call it when the connection goes quiet.
func (r *Reader) Shrink() {
	if r.pos == r.end && cap(r.buf) > readBufMin {
		r.buf, r.pos, r.end, r.grow = nil, 0, 0, false
	}
}

// ReadProtocolHeader reads the 8-byte protocol header the client opens
// with. A header other than ProtocolHeader yields an error wrapping
// ErrProtocolHeader; the server then writes its own header and closes.
// AMQP 0-9-1 4.2.2.
func (r *Reader) ReadProtocolHeader() error {
	if err := r.fill(len(ProtocolHeader)); err != nil {
		return err
	}
	got := r.buf[r.pos : r.pos+len(ProtocolHeader)]
	r.pos += len(ProtocolHeader)
	if string(got) != ProtocolHeader {
		return fmt.Errorf("%w: %q", ErrProtocolHeader, got)
	}
	return nil
}

// ReadFrame returns the next frame. Errors are *Error values (FrameError)
// for malformed frames, or the source's error; io.ErrUnexpectedEOF when
// the stream ends inside a frame.
func (r *Reader) ReadFrame() (Frame, error) {
	for {
		f, n, err := ParseFrame(r.buf[r.pos:r.end], r.frameMax)
		if err != nil {
			return Frame{}, err
		}
		if n > 0 {
			r.pos += n
			return f, nil
		}
		need := 7
		if r.end-r.pos >= 7 {
			need = int(binary.BigEndian.Uint32(r.buf[r.pos+3:])) + frameOverhead
		}
		if err := r.fill(need); err != nil {
			return Frame{}, err
		}
	}
}

// fill reads until at least need bytes are buffered.
func (r *Reader) fill(need int) error {
	r.makeRoom(need)
	for r.end-r.pos < need {
		n, err := r.src.Read(r.buf[r.end:])
		r.end += n
		r.grow = r.end == len(r.buf)
		if r.end-r.pos >= need {
			return nil
		}
		if err != nil {
			if err == io.EOF && r.end > r.pos {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// makeRoom makes buf[pos:] able to hold need bytes, moving unparsed bytes
// to the front and growing the buffer as needed.
func (r *Reader) makeRoom(need int) {
	if r.pos == r.end {
		r.pos, r.end = 0, 0
	}
	size := len(r.buf)
	if size == 0 {
		size = readBufMin
	}
	if r.grow && size < readBufMax {
		size *= 2
	}
	r.grow = false
	size = max(size, need)
	if size == len(r.buf) && len(r.buf)-r.pos >= need {
		return
	}
	if size == len(r.buf) {
		r.end = copy(r.buf, r.buf[r.pos:r.end])
		r.pos = 0
		return
	}
	buf := make([]byte, size)
	r.end = copy(buf, r.buf[r.pos:r.end])
	r.pos = 0
	r.buf = buf
}
