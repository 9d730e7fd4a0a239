package amqp091

import (
	"errors"
	"strconv"
)

// Error is an AMQP protocol error: a reply code (NotFound, FrameError, ...)
// and a reply text. Hard reports its scope: a hard error closes the
// connection (connection.close), a soft one only the channel
// (channel.close). AMQP 0-9-1 1.2.2.
type Error struct {
	Code uint16
	Text string
}

// Error formats the error as RabbitMQ phrases a reply text.
func (e *Error) Error() string {
	return "amqp091: " + strconv.Itoa(int(e.Code)) + " " + CodeName(e.Code) + " - " + e.Text
}

// Hard reports whether the error closes the connection rather than the
// channel.
func (e *Error) Hard() bool { return IsHardError(e.Code) }

// Codec errors. The *Error ones carry the reply code the server closes the
// connection with; compare with errors.Is and extract the code with
// errors.As.
var (
	// ErrProtocolHeader is returned by Reader.ReadProtocolHeader when the
	// peer did not send "AMQP\x00\x00\x09\x01". The server answers with its
	// own ProtocolHeader and closes the socket. AMQP 0-9-1 4.2.2.
	ErrProtocolHeader = errors.New("amqp091: bad protocol header")

	// ErrFrameEnd means a frame did not end with the frame-end octet 0xCE.
	// AMQP 0-9-1 4.2.3.
	ErrFrameEnd = &Error{Code: FrameError, Text: "frame end octet missing"}

	// ErrFrameTooLarge means a frame was larger than the negotiated
	// frame_max. AMQP 0-9-1 4.2.3.
	ErrFrameTooLarge = &Error{Code: FrameError, Text: "frame larger than frame_max"}

	// ErrFrameType means an unknown frame type octet.
	ErrFrameType = &Error{Code: FrameError, Text: "unknown frame type"}

	// ErrShortPayload means a frame payload ended before its fields did.
	ErrShortPayload = &Error{Code: FrameError, Text: "frame payload truncated"}

	// ErrTrailingBytes means a method or content header payload went on
	// after its last field.
	ErrTrailingBytes = &Error{Code: FrameError, Text: "unexpected bytes after the last field"}

	// ErrUnknownMethod means a class id and method id pair that AMQP 0-9-1
	// (with RabbitMQ's extensions) does not define.
	ErrUnknownMethod = &Error{Code: NotImplemented, Text: "unknown method"}

	// ErrFieldType means a field-table value with an unknown type octet.
	ErrFieldType = &Error{Code: SyntaxError, Text: "unknown field table value type"}

	// ErrTableDepth means field tables or arrays nested deeper than
	// MaxTableDepth.
	ErrTableDepth = &Error{Code: SyntaxError, Text: "field tables nested too deep"}

	// ErrPropertyFlags means a content header with property flags beyond the
	// basic class's fourteen properties.
	ErrPropertyFlags = &Error{Code: SyntaxError, Text: "unknown property flags"}

	// ErrShortstrTooLong is an encoding error: a short string over 255
	// bytes. AMQP 0-9-1 4.2.5.3.
	ErrShortstrTooLong = errors.New("amqp091: short string longer than 255 bytes")

	// ErrTableValue is an encoding error: a table value whose Go type has no
	// field-table type (see core/message for the mapping).
	ErrTableValue = errors.New("amqp091: unsupported field table value type")
)
