package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"
)

// DialMQTTIdle opens an MQTT 3.1.1 connection to uri
// (tcp://[user:pass@]host:port) with a clean session and keep-alive off,
// waits for a successful CONNACK and returns the socket, which then stays
// silent. No client library is involved, so that ten thousand of them cost
// the bench process little.
func DialMQTTIdle(uri, clientID string, timeout time.Duration) (net.Conn, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, err
	}
	nc, err := net.DialTimeout("tcp", u.Host, timeout)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(timeout))
	if _, err := nc.Write(mqttConnect(u.User, clientID)); err != nil {
		nc.Close()
		return nil, err
	}
	var ack [4]byte
	if _, err := io.ReadFull(nc, ack[:]); err != nil {
		nc.Close()
		return nil, err
	}
	if ack[0] != 0x20 || ack[1] != 2 {
		nc.Close()
		return nil, errors.New("bench: mqtt: no CONNACK")
	}
	if ack[3] != 0 {
		nc.Close()
		return nil, fmt.Errorf("bench: mqtt: CONNACK return code %d", ack[3])
	}
	nc.SetDeadline(time.Time{})
	return nc, nil
}

// mqttConnect encodes an MQTT 3.1.1 CONNECT packet (MQTT 3.1.1 §3.1):
// clean session, keep-alive 0, credentials when user is set.
func mqttConnect(user *url.Userinfo, clientID string) []byte {
	str := func(b []byte, s string) []byte { return append(append(b, byte(len(s)>>8), byte(len(s))), s...) }
	flags := byte(0x02) // clean session
	var v []byte
	v = str(v, "MQTT")
	v = append(v, 4, 0, 0, 0) // level 4, flags (patched below), keep-alive 0
	v = str(v, clientID)
	if user != nil {
		flags |= 0x80
		v = str(v, user.Username())
		if p, ok := user.Password(); ok {
			flags |= 0x40
			v = str(v, p)
		}
	}
	v[7] = flags
	out := []byte{0x10}
	for n := len(v); ; {
		b := byte(n % 128)
		if n /= 128; n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			break
		}
	}
	return append(out, v...)
}
