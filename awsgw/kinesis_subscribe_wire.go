package awsgw

import (
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
)

// The AWS event stream framing (application/vnd.amazon.eventstream) that
// SubscribeToShard answers with. A message is
//
//	total length (uint32) | headers length (uint32) | prelude CRC32 |
//	headers | payload | message CRC32
//
// all big-endian, the CRCs IEEE (gzip's) CRC32: the prelude's over the
// two lengths, the message's over everything before it. A header is
// name length (uint8) | name | value type (7 = string) | value length
// (uint16) | value; only string headers are sent here.

const (
	ctEventStream      = "application/vnd.amazon.eventstream"
	esPreludeLen       = 12 // two lengths and the prelude CRC
	esHeaderTypeString = 7
	// esMaxMessage bounds one message as AWS's decoders do (16 MiB).
	esMaxMessage = 16 << 20
)

// esHeader is one string header of an event stream message.
type esHeader struct{ name, value string }

// appendEventMessage appends one framed message with headers and
// payload to dst.
func appendEventMessage(dst []byte, headers []esHeader, payload []byte) []byte {
	hlen := 0
	for _, h := range headers {
		hlen += 1 + len(h.name) + 1 + 2 + len(h.value)
	}
	total := esPreludeLen + hlen + len(payload) + 4
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(total))
	dst = binary.BigEndian.AppendUint32(dst, uint32(hlen))
	dst = binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:start+8]))
	for _, h := range headers {
		dst = append(dst, byte(len(h.name)))
		dst = append(dst, h.name...)
		dst = append(dst, esHeaderTypeString)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(h.value)))
		dst = append(dst, h.value...)
	}
	dst = append(dst, payload...)
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}

// eventContentType is the payload type events carry for a request's
// protocol.
func eventContentType(proto protocol) string {
	if proto == protoCBOR {
		return ctKinesisCBOR
	}
	return ctKinesisJSON
}

// marshalEventPayload encodes an event's payload in the request's
// protocol.
func marshalEventPayload(proto protocol, v any) ([]byte, error) {
	if proto == protoCBOR {
		return kinesisCBOREnc.Marshal(v)
	}
	return json.Marshal(v)
}

// eventFrame frames an event of type typ ("initial-response",
// "SubscribeToShardEvent") with payload v.
func eventFrame(proto protocol, typ string, v any) ([]byte, error) {
	payload, err := marshalEventPayload(proto, v)
	if err != nil {
		return nil, err
	}
	return appendEventMessage(nil, []esHeader{{":event-type", typ},
		{":content-type", eventContentType(proto)}, {":message-type", "event"}}, payload), nil
}

// exceptionFrame frames a modelled exception (ResourceInUseException,
// ResourceNotFoundException, InternalFailureException, …) sent in the
// stream after it started.
func exceptionFrame(proto protocol, e *apiError) []byte {
	payload, err := marshalEventPayload(proto, map[string]string{"message": e.Message})
	if err != nil {
		payload = []byte("{}")
	}
	return appendEventMessage(nil, []esHeader{{":exception-type", e.Type},
		{":content-type", eventContentType(proto)}, {":message-type", "exception"}}, payload)
}
