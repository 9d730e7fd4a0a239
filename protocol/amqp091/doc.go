// Package amqp091 is Junction's AMQP 0-9-1 codec: frames, methods, content
// headers and field tables, in RabbitMQ's dialect. It is pure: no network,
// no logging, no broker; the only import beyond the standard library is the
// data-only core/message, so a decoded publish's properties and headers
// reach the core without conversion.
//
// Reading: a Reader parses frames in place from a connection (ParseFrame
// does the same for a byte slice), a Decoder turns method payloads into
// Method values, reusing one value per hot method (basic.publish,
// basic.ack, basic.nack, basic.reject, basic.deliver) so the publish path
// does not allocate, and ContentHeader.Decode reads content headers.
//
// Writing: a Writer appends method, content header, body (split at
// frame_max) and heartbeat frames to one buffer the connection's writer
// flushes in one syscall.
//
// Errors: malformed input yields *Error values carrying the AMQP reply
// code to close the connection with (FrameError, SyntaxError, ...); see
// errors.go.
//
// methods.go (constants, method structs, DecodeMethod, Decoder) is
// generated from RabbitMQ's machine-readable spec, which lives outside the
// repository in ../shared/spec/amqp091.
package amqp091

//go:generate go run ./gen -spec ../../../shared/spec/amqp091/amqp-rabbitmq-0.9.1.json -out methods.go
