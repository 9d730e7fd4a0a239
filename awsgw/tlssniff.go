package awsgw

import (
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"sync"
	"time"
)

// tlsRecordHandshake is the first byte of every TLS connection (a
// handshake record, RFC 8446 5.1); no HTTP method starts with it.
const tlsRecordHandshake = 0x16

// sniffTimeout bounds how long a new connection may take to send its
// first byte before it is dropped.
const sniffTimeout = 10 * time.Second

// sniffListener serves TLS and plain HTTP on one port, as LocalStack does
// on 4566, so that both http:// and https:// endpoint URLs work: each
// accepted connection's first byte tells a TLS ClientHello from an HTTP
// request. Sniffing happens off the accept loop, one goroutine per new
// connection until its first byte, so that a silent client delays no
// other. TLS connections are handed out as *tls.Conn, so http.Server
// does the handshake and sets Request.TLS.
type sniffListener struct {
	net.Listener
	tls   *tls.Config
	conns chan net.Conn // sniffed connections for Accept
	done  chan struct{} // closed by Close
	once  sync.Once
	wg    sync.WaitGroup // the accept loop and the sniffing goroutines

	mu      sync.Mutex // guards pending
	pending map[net.Conn]struct{}
}

// newSniffListener wraps ln; tc is cloned, with ALPN offering HTTP/2 and
// HTTP/1.1 unless it names protocols itself.
func newSniffListener(ln net.Listener, tc *tls.Config) *sniffListener {
	tc = tc.Clone()
	if len(tc.NextProtos) == 0 {
		tc.NextProtos = []string{"h2", "http/1.1"}
	}
	l := &sniffListener{Listener: ln, tls: tc, conns: make(chan net.Conn),
		done: make(chan struct{}), pending: map[net.Conn]struct{}{}}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

// Accept returns the next sniffed connection, or net.ErrClosed after
// Close.
func (l *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting, closes the connections still being sniffed and
// waits for every goroutine the listener started.
func (l *sniffListener) Close() error {
	err := net.ErrClosed
	l.once.Do(func() { err = l.shut() })
	l.wg.Wait()
	return err
}

// shut closes done, the listener and the connections being sniffed; it
// runs once, from Close or from the accept loop when the listener was
// closed under it.
func (l *sniffListener) shut() error {
	close(l.done)
	err := l.Listener.Close()
	l.mu.Lock()
	for c := range l.pending {
		_ = c.Close()
	}
	l.mu.Unlock()
	return err
}

// acceptLoop accepts raw connections and starts sniffing each; it backs
// off on temporary errors (too many open files) as http.Server does.
func (l *sniffListener) acceptLoop() {
	defer l.wg.Done()
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				l.once.Do(func() { _ = l.shut() })
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		l.mu.Lock()
		select {
		case <-l.done: // Close ran after this Accept returned
			l.mu.Unlock()
			_ = c.Close()
			return
		default:
		}
		l.pending[c] = struct{}{}
		l.mu.Unlock()
		l.wg.Add(1)
		go l.sniff(c)
	}
}

// sniff reads c's first byte and hands c to Accept, TLS-wrapped when that
// byte starts a TLS handshake.
func (l *sniffListener) sniff(c net.Conn) {
	defer l.wg.Done()
	var first [1]byte
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	n, err := c.Read(first[:])
	_ = c.SetReadDeadline(time.Time{})
	l.mu.Lock()
	delete(l.pending, c)
	l.mu.Unlock()
	if err != nil || n == 0 {
		_ = c.Close()
		return
	}
	var out net.Conn = &peekedConn{Conn: c, first: slices.Clone(first[:n])}
	if first[0] == tlsRecordHandshake {
		out = tls.Server(out, l.tls)
	}
	select {
	case l.conns <- out:
	case <-l.done:
		_ = c.Close()
	}
}

// peekedConn is a connection whose first bytes were already read.
type peekedConn struct {
	net.Conn
	first []byte
}

// Read returns the peeked bytes first.
func (c *peekedConn) Read(p []byte) (int, error) {
	if len(c.first) > 0 {
		n := copy(p, c.first)
		c.first = c.first[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
