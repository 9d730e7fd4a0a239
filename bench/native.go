package bench

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// clientFrameMax is the largest frame the native client asks for.
const clientFrameMax = 128 << 10

// ErrUnexpectedMethod means the broker answered a synchronous request with
// a method other than the one expected.
var ErrUnexpectedMethod = errors.New("bench: unexpected method")

// Endpoint is a parsed amqp:// URI.
type Endpoint struct {
	Addr        string // host:port
	User, Pass  string
	VirtualHost string
}

// ParseURI parses amqp://user:pass@host:port/vhost the way amqp091-go
// does: user and password default to guest, the port to 5672, an empty
// path to the vhost "/"; the path is unescaped ("/%2f" is "/").
func ParseURI(uri string) (Endpoint, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return Endpoint{}, err
	}
	if u.Scheme != "amqp" {
		return Endpoint{}, fmt.Errorf("bench: URI scheme %q: only amqp is supported", u.Scheme)
	}
	e := Endpoint{Addr: u.Host, User: "guest", Pass: "guest", VirtualHost: "/"}
	if u.Port() == "" {
		e.Addr = net.JoinHostPort(u.Hostname(), "5672")
	}
	if u.User != nil {
		e.User = u.User.Username()
		if p, ok := u.User.Password(); ok {
			e.Pass = p
		}
	}
	if p := strings.TrimPrefix(u.EscapedPath(), "/"); p != "" {
		if e.VirtualHost, err = url.PathUnescape(p); err != nil {
			return Endpoint{}, err
		}
	}
	return e, nil
}

// NativeConn is the native load client's AMQP connection: frames are
// appended to one buffer and written with one syscall per Flush, and read
// with amqp091.Reader, many frames per read. Heartbeats are turned off.
//
// One goroutine may write (Send, the Write methods, Flush) while another
// reads (ReadFrame); neither side is safe for concurrent use by itself.
type NativeConn struct {
	nc  net.Conn
	r   *amqp091.Reader
	dec amqp091.Decoder
	w   amqp091.Writer
}

// DialNative connects to uri and completes the AMQP handshake (PLAIN
// authentication, heartbeat 0) within timeout.
func DialNative(uri string, timeout time.Duration) (*NativeConn, error) {
	e, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	nc, err := net.DialTimeout("tcp", e.Addr, timeout)
	if err != nil {
		return nil, err
	}
	c := NewNativeConn(nc)
	nc.SetDeadline(time.Now().Add(timeout))
	if err := c.handshake(e); err != nil {
		nc.Close()
		return nil, fmt.Errorf("bench: handshake with %s: %w", e.Addr, err)
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

// NewNativeConn wraps an open connection on which no AMQP bytes were
// exchanged yet; DialNative calls it, tests call it with a wrapped conn.
func NewNativeConn(nc net.Conn) *NativeConn {
	return &NativeConn{nc: nc, r: amqp091.NewReader(nc, 0)}
}

func (c *NativeConn) handshake(e Endpoint) error {
	c.w.WriteProtocolHeader()
	if err := c.Flush(); err != nil {
		return err
	}
	if _, err := c.expect(0, &amqp091.ConnectionStart{}); err != nil {
		return err
	}
	c.Send(0, &amqp091.ConnectionStartOk{
		ClientProperties: message.Table{
			{Key: "product", Value: "junction-bench"},
			{Key: "capabilities", Value: message.Table{
				{Key: "publisher_confirms", Value: true},
				{Key: "basic.nack", Value: true},
			}},
		},
		Mechanism: "PLAIN", Response: "\x00" + e.User + "\x00" + e.Pass, Locale: "en_US",
	})
	if err := c.Flush(); err != nil {
		return err
	}
	m, err := c.expect(0, &amqp091.ConnectionTune{})
	if err != nil {
		return err
	}
	tune := m.(*amqp091.ConnectionTune)
	frameMax := uint32(clientFrameMax)
	if tune.FrameMax != 0 {
		frameMax = min(frameMax, tune.FrameMax)
	}
	c.w.FrameMax = frameMax
	c.r.SetFrameMax(frameMax)
	c.Send(0, &amqp091.ConnectionTuneOk{ChannelMax: tune.ChannelMax, FrameMax: frameMax})
	_, err = c.Call(0, &amqp091.ConnectionOpen{VirtualHost: e.VirtualHost}, &amqp091.ConnectionOpenOk{})
	return err
}

// Send appends method m on channel ch to the outbound buffer.
func (c *NativeConn) Send(ch uint16, m amqp091.Method) error {
	return c.w.WriteMethod(ch, m)
}

// Writer returns the outbound buffer, for appending content frames.
func (c *NativeConn) Writer() *amqp091.Writer { return &c.w }

// Flush writes the outbound buffer in one write and empties it.
func (c *NativeConn) Flush() error {
	if len(c.w.Buf) == 0 {
		return nil
	}
	_, err := c.nc.Write(c.w.Buf)
	c.w.Reset()
	return err
}

// Buffered reports how many received bytes are not yet parsed.
func (c *NativeConn) Buffered() int { return c.r.Buffered() }

// ReadFrame returns the next frame; its payload is valid until the next call.
func (c *NativeConn) ReadFrame() (amqp091.Frame, error) { return c.r.ReadFrame() }

// Decode decodes a method frame payload (hot methods into reused values).
func (c *NativeConn) Decode(payload []byte) (amqp091.Method, error) {
	return c.dec.DecodeMethod(payload)
}

// Call sends m on channel ch, flushes and waits for a method like want
// (same class and method id) on ch, skipping other frames. A channel.close
// or connection.close from the broker yields an *amqp091.Error.
func (c *NativeConn) Call(ch uint16, m, want amqp091.Method) (amqp091.Method, error) {
	if err := c.Send(ch, m); err != nil {
		return nil, err
	}
	if err := c.Flush(); err != nil {
		return nil, err
	}
	return c.expect(ch, want)
}

// expect reads until a method frame on ch and checks it is like want.
func (c *NativeConn) expect(ch uint16, want amqp091.Method) (amqp091.Method, error) {
	for {
		f, err := c.r.ReadFrame()
		if err != nil {
			return nil, err
		}
		if f.Type != amqp091.FrameMethod || (f.Channel != ch && f.Channel != 0) {
			continue
		}
		m, err := amqp091.DecodeMethod(f.Payload)
		if err != nil {
			return nil, err
		}
		if err := closeError(m); err != nil {
			return nil, err
		}
		if m.ClassID() == want.ClassID() && m.MethodID() == want.MethodID() {
			return m, nil
		}
		if f.Channel == ch {
			return nil, fmt.Errorf("%w: %s, want %s", ErrUnexpectedMethod, m.Name(), want.Name())
		}
	}
}

// closeError turns a broker's channel.close or connection.close into an
// error, and returns nil for any other method.
func closeError(m amqp091.Method) error {
	switch m := m.(type) {
	case *amqp091.ConnectionClose:
		return &amqp091.Error{Code: m.ReplyCode, Text: "connection closed: " + m.ReplyText}
	case *amqp091.ChannelClose:
		return &amqp091.Error{Code: m.ReplyCode, Text: "channel closed: " + m.ReplyText}
	}
	return nil
}

// OpenChannel opens channel ch.
func (c *NativeConn) OpenChannel(ch uint16) error {
	_, err := c.Call(ch, &amqp091.ChannelOpen{}, &amqp091.ChannelOpenOk{})
	return err
}

// Close sends connection.close, waits briefly for close-ok and closes the
// socket.
func (c *NativeConn) Close() error {
	c.nc.SetDeadline(time.Now().Add(time.Second))
	c.Call(0, &amqp091.ConnectionClose{ReplyCode: amqp091.ReplySuccess, ReplyText: "bye"}, &amqp091.ConnectionCloseOk{})
	return c.nc.Close()
}

// Abort closes the socket without the closing handshake; a blocked
// ReadFrame returns.
func (c *NativeConn) Abort() error { return c.nc.Close() }
