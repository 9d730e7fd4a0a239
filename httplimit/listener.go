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
// never reaches the server.
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

	mu   sync.Mutex // guards open
	open int
}

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
		if ok {
			l.open++
		}
		l.mu.Unlock()
		if ok {
			return &limitedConn{Conn: c, l: l}, nil
		}
		go refuseConn(c, l.refuse)
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
