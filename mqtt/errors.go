package mqtt

import (
	"errors"

	"github.com/mochi-mqtt/server/v2/packets"
)

// ErrServerClosed is returned by Serve, ServeTLS and ServeWebSocket after
// Shutdown.
var ErrServerClosed = errors.New("mqtt: server closed")

// Reason codes the face sends (MQTT 5 2.4; 3.1.1 CONNACK return codes in
// v3Connack).
var (
	errServerShuttingDown = packets.ErrServerShuttingDown
	errNotAuthorized      = packets.ErrNotAuthorized               // 0x87
	errBadCredentials     = packets.ErrBadUsernameOrPassword       // 0x86
	errQuotaExceeded      = packets.ErrQuotaExceeded               // 0x97
	errImplSpecific       = packets.ErrImplementationSpecificError // 0x83
	errIDNotValid         = packets.ErrClientIdentifierNotValid    // 0x85

	// errInflightFull refuses a publish that a session could not queue
	// because its in-flight window (Config.MaxInflight) is full.
	errInflightFull = errors.New("mqtt: a subscriber's in-flight window is full")
)

// v3Connack maps the MQTT 5 CONNACK reason codes this face and mochi use
// to MQTT 3.1.1 return codes (3.1.1 3.2.2.3): 0x80 (mochi's answer to an
// empty client id without clean session) and 0x85 → 0x02 identifier
// rejected [MQTT-3.1.3-8], 0x84 → 0x01, 0x86 → 0x04, 0x87 → 0x05, 0x88 and
// 0x89 and 0x97 (too many connections) → 0x03 server unavailable.
func v3Connack(code byte) byte {
	switch code {
	case packets.ErrUnspecifiedError.Code, errIDNotValid.Code:
		return 0x02
	case packets.ErrUnsupportedProtocolVersion.Code:
		return 0x01
	case errBadCredentials.Code:
		return 0x04
	case errNotAuthorized.Code:
		return 0x05
	case packets.ErrServerUnavailable.Code, packets.ErrServerBusy.Code, errQuotaExceeded.Code:
		return 0x03
	}
	return code
}
