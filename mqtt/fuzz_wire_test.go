package mqtt_test

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/junctionmq/junction/mqtt"
)

// FuzzMQTTWire sends arbitrary bytes to a live MQTT listener, raw or after
// a valid 3.1.1 or 5.0 CONNECT (chosen by the first byte), then half-closes
// the connection: the server must end it (it has nothing more to read) and
// must not panic, and a well-formed client must still connect afterwards.
func FuzzMQTTWire(f *testing.F) {
	for _, s := range [][]byte{
		{0, 0x30, 0x05, 0, 1, 'a', 'h', 'i'},                                             // 3.1.1 QoS 0 publish
		{1, 0x32, 0x07, 0, 1, 'a', 0, 1, 'h', 'i'},                                       // 5.0 QoS 1 publish without properties length
		{1, 0x82, 0x07, 0, 1, 0, 0, 1, '#', 0},                                           // 5.0 subscribe
		{0, 0x82, 0x06, 0, 1, 0, 1, '#', 3},                                              // 3.1.1 subscribe QoS 3
		{2, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F},                                          // raw: remaining length too long
		{2, 0x10, 0x0A, 0, 4, 'M', 'Q', 'T', 'T', 9, 0, 0, 0},                            // raw: unknown protocol level
		{1, 0x30, 0x03, 0, 1, 'a', 0x34, 0x02, 0, 0},                                     // 5.0 publish QoS 1 with topic alias 0
		{0, 0xC0, 0x00, 0xE0, 0x00},                                                      // ping then disconnect
		{1, 0xE0, 0x02, 0x04, 0x00},                                                      // 5.0 disconnect with will
		{0, 0xF0, 0x00},                                                                  // reserved packet type
		{1, 0x30, 0x07, 0, 3, '$', 'S', 'Y', 0, 'x'},                                     // $SYS publish
		{1, 0xA2, 0x05, 0, 2, 0, 0, 0},                                                   // 5.0 unsubscribe without filters
		{0, 0x62, 0x02, 0, 9, 0x70, 0x02, 0, 9, 0x40, 0x02, 0, 9},                        // pubrel/pubcomp/puback unknown ids
		{1, 0x32, 0x0A, 0, 1, 't', 0, 2, 3, 0x26, 0, 0xFF},                               // 5.0 user property truncated
		{2, 0x10, 0x10, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 2, 0, 60, 0, 2, 'i', 'd'}, // raw 3.1 CONNECT
	} {
		f.Add(s)
	}
	tb := startBroker(f, mqtt.Config{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		var pre []byte
		switch data[0] % 3 {
		case 0:
			pre = connect311
		case 1:
			pre = connect5
		}
		nc, err := net.Dial("tcp", tb.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(20 * time.Second))
		// A write may fail once the server has hung up on a bad prefix.
		_, _ = nc.Write(append(append([]byte{}, pre...), data[1:]...))
		nc.(*net.TCPConn).CloseWrite()
		if _, err := io.Copy(io.Discard, nc); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("the server did not end a connection whose input ended: %v", err)
		}
		// The server still serves a well-formed client.
		ok, err := net.Dial("tcp", tb.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer ok.Close()
		ok.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := ok.Write(connect311); err != nil {
			t.Fatal(err)
		}
		ack := make([]byte, 4)
		if _, err := io.ReadFull(ok, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
			t.Fatalf("CONNACK after fuzz input: % x, %v", ack, err)
		}
	})
}
