package httplimit

import (
	"io"
	"net"
	"sync"
	"time"
)

// LimitListener returns a listener that lets at most max connections of
// ln be open at once (0: no limit). A connection past the limit is handed
// to refuse, which answers it (a 503) before it is drained and closed; it
// never reaches the server. At most maxRefusing connections are being
// answered at once; in a flood past that, they are closed unanswered.
func LimitListener(ln net.Listener, max int, refuse func(net.Conn)) net.Listener {
	if max <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, max: max, refuse: refuse}
}

type limitListener struct {
	net.Listener
	max    int
	refuse func(net.Conn)

	mu       sync.Mutex // guards open and refusing
	open     int
	refusing int
}

// maxRefusing bounds the connections being refused at once (each holds a
// goroutine for up to refuseTimeout).
const maxRefusing = 64

// Accept returns the next connection under the limit; those over it are
// refused in the background.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		ok := l.open < l.max
		answer := !ok && l.refusing < maxRefusing
		switch {
		case ok:
			l.open++
		case answer:
			l.refusing++
		}
		l.mu.Unlock()
		switch {
		case ok:
			return &limitedConn{Conn: c, l: l}, nil
		case answer:
			go func() {
				refuseConn(c, l.refuse)
				l.mu.Lock()
				l.refusing--
				l.mu.Unlock()
			}()
		default:
			_ = c.Close()
		}
	}
}

func (l *limitListener) release() {
	l.mu.Lock()
	l.open--
	l.mu.Unlock()
}

// refuseTimeout bounds the time spent answering a refused connection.
const refuseTimeout = 2 * time.Second

// refuseConn answers c with refuse, then reads what the client sent (so
// that closing does not reset the connection before it reads the answer)
// for at most refuseTimeout, and closes it.
func refuseConn(c net.Conn, refuse func(net.Conn)) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(refuseTimeout))
	if refuse != nil {
		refuse(c)
	}
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 1<<20))
}

// limitedConn gives its slot back when closed.
type limitedConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.l.release)
	return err
}
