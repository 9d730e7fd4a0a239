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
)

// v3Connack maps the MQTT 5 CONNACK reason codes this face uses to MQTT
// 3.1.1 return codes (3.1.1 3.2.2.3): 0x86 → 0x04, 0x87 → 0x05.
func v3Connack(code byte) byte {
	switch code {
	case errBadCredentials.Code:
		return 0x04
	case errNotAuthorized.Code:
		return 0x05
	}
	return code
}
