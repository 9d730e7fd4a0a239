package amqp

import (
	"io"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
)

// Busy-poll reads (Config.BusyPoll). At a low rate each message costs the
// broker a wake-up of its idle reader: the goroutine parks in the
// netpoller, the thread sleeps in epoll_wait, and the publish that
// arrives must wake the virtual CPU, the thread and the goroutine before
// the broker sees it (about 50 µs of the 80 µs end to end at 1,000 msg/s
// on the benchmark machine). RabbitMQ's schedulers busy-wait before they
// sleep, which is why its wake-ups are cheap. With BusyPoll on, a reader
// whose socket is empty retries non-blocking reads for up to BusyPoll
// before it parks, so a message that comes within that time is read by
// a running thread. Between attempts it calls sched_yield, so the CPU it
// keeps awake still goes to any other thread that needs it.
//
// The spinning is bounded:
//   - only a reader whose last two reads that returned data were less
//     than BusyPoll apart, the last of them less than BusyPoll ago,
//     spins: a connection whose traffic comes at least that often. An
//     idle connection parks at once, and so does one whose only traffic
//     is a heartbeat now and then (otherwise 10,000 idle connections
//     with 60 s heartbeats would keep a third of a core spinning after
//     their heartbeats at a BusyPoll of 2 ms). The budget restarts with
//     each read that returns data;
//   - at most spinPool.limit readers spin at once, max(1, GOMAXPROCS-1),
//     so one P is always left to the rest of the broker; a reader that
//     cannot take a token parks as it would without BusyPoll;
//   - only plain TCP connections spin: a *tls.Conn reads through its own
//     record buffer, and its reads stay as they are;
//   - a reader whose socket has SO_RCVLOWAT raised (writer.go: a refill
//     waiting for more acks) does not spin: a non-blocking read returns
//     whatever is there, so spinning would read the acks one by one and
//     undo the grouping the low-water mark is there for. The low-water
//     mark is raised only under a heavy manual-ack load, where the
//     reader rarely waits anyway.
//
// The other wake-up on the way, the consumer connection's writer, is
// already avoided: the publishing reader writes the delivery to the
// consumer's socket itself (writer.go: deferWrite). Counted at 1,000
// msg/s with either client: one reader write per message, and writer
// wake-ups under 1 % of the messages (heartbeats, the handshake). What
// remains is the wake-up of the consumer client's own reader.
//
// Measured on the shared 2-core machine (junction-bench amqp --rate 1000
// --autoack --size 16, 10 s runs alternating with the build before,
// medians of 5-6; the machine was loaded by other benchmarks, load
// average 3-4, so single p99s spread from 0.2 to 50 ms): end-to-end p50
// 0.097-0.107 -> 0.062-0.069 ms with the native client and 0.117-0.142
// -> 0.104-0.108 ms with amqp091-go, for about 900-960 µs of broker CPU
// per message against 90 (one spinning core). The p99 medians did not
// separate in two rounds; in the last (readGap in place) they fell from
// 1.48 to 1.08 ms (native) and 1.16 to 0.85 ms (amqp091-go), transit
// p99 1.00 -> 0.55 and 0.67 -> 0.43 ms. At full speed
// (native autoack) the rate stayed within the noise; with amqp091-go
// autoack the broker spent ~1 µs more per message (smaller reads).
//
// Read deadlines (heartbeats, the close-ok timeout, the idle shrink of
// conn.readLoop) still apply: the spin runs inside syscall.RawConn.Read,
// which checks the deadline before the first attempt and parks with it
// after the budget; a deadline that passes during a spin is seen at most
// BusyPoll late, and a Close from another goroutine (which waits for the
// socket's readers) returns at most BusyPoll later. The spin ends at once
// when the peer hangs up (the read returns EOF).

// spinPool hands out the tokens that bound the readers spinning at once.
type spinPool struct {
	limit int32
	busy  atomic.Int32  // tokens taken
	peak  atomic.Int32  // the most tokens ever taken at once (tests)
	spins atomic.Uint64 // tokens taken: spins begun (tests, statistics)
	hits  atomic.Uint64 // spins that ended with data (tests, statistics)
	parks atomic.Uint64 // spins that used their whole budget and parked
}

// newSpinPool returns a pool of max(1, GOMAXPROCS-1) tokens.
func newSpinPool() *spinPool {
	return &spinPool{limit: int32(max(1, runtime.GOMAXPROCS(0)-1))}
}

// take takes a token, or reports false when all are taken.
func (p *spinPool) take() bool {
	for {
		n := p.busy.Load()
		if n >= p.limit {
			return false
		}
		if p.busy.CompareAndSwap(n, n+1) {
			p.spins.Add(1)
			for {
				pk := p.peak.Load()
				if n+1 <= pk || p.peak.CompareAndSwap(pk, n+1) {
					break
				}
			}
			return true
		}
	}
}

// give gives a token back.
func (p *spinPool) give() { p.busy.Add(-1) }

// spinReady reports whether the reader should read with spinRead: busy
// polling is on, the socket is plain TCP without a raised low-water mark,
// and the connection's last two reads came within the budget, the last
// of them within the budget of now.
func (c *conn) spinReady() bool {
	budget := int64(c.s.cfg.BusyPoll)
	return budget > 0 && c.raw != nil && c.lowat.Load() <= 1 &&
		c.readGap <= budget && monoNow()-c.lastRead.Load() <= budget
}

// spinRead reads into p as net.Conn.Read does, but when the socket is
// empty it first retries non-blocking reads for up to the BusyPoll
// budget, holding one of the server's spin tokens, and only then parks in
// the netpoller. Without a token it parks at once.
func (c *conn) spinRead(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	pool := c.s.spin
	var (
		n      int
		rerr   error
		tried  bool // the first call of the callback spins; later ones, after a park, read once
		holder bool // a token is held
	)
	err := c.raw.Read(func(fd uintptr) bool {
		var end int64
		for {
			n, rerr = syscall.Read(int(fd), p)
			switch rerr {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
			default:
				return true
			}
			if tried && end == 0 {
				return false // woken by the netpoller for nothing: park again
			}
			if end == 0 {
				tried = true
				if holder = pool.take(); !holder {
					return false
				}
				end = monoNow() + int64(c.s.cfg.BusyPoll)
				continue
			}
			if monoNow() >= end {
				pool.parks.Add(1)
				pool.give()
				holder = false
				return false
			}
			// Between attempts the thread offers its CPU to any other
			// runnable thread (the clients on the same machine, the
			// broker's other threads): the spin keeps the CPU awake
			// without starving them. Without it, p99 at 1,000 msg/s on
			// the loaded 2-core benchmark machine went from 0.25 ms to
			// 2.4-2.9 ms; with it, to 0.16-0.18 ms.
			syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
		}
	})
	if holder {
		if n > 0 {
			pool.hits.Add(1)
		}
		pool.give()
	}
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.nc.LocalAddr(), Addr: c.nc.RemoteAddr(),
			Err: os.NewSyscallError("read", rerr)}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}
