package amqp091

import "encoding/binary"

// Method is an AMQP method: one generated struct per method in methods.go,
// named class then method (BasicPublish, ConnectionStartOk, QueueDeclare).
// Fields are the spec's arguments in order; reserved "ticket" arguments
// are named Reserved1, and connection.close's and channel.close's
// class-id and method-id are FailedClassID and FailedMethodID.
type Method interface {
	// ClassID returns the class id (ClassBasic, ...).
	ClassID() uint16
	// MethodID returns the method id within the class (MethodBasicPublish, ...).
	MethodID() uint16
	// Name returns the spec name, "basic.publish".
	Name() string
	// HasContent reports whether a content header and body follow.
	HasContent() bool
	// Write appends the method frame payload: class id, method id and the
	// arguments, bits packed as the spec says. AMQP 0-9-1 4.2.4.
	Write(w *Writer)
	// Decode decodes a method frame payload (class id, method id,
	// arguments) into the method, overwriting every field. Decoding into a
	// reused value does not allocate for strings whose value repeats;
	// tables are always freshly allocated.
	Decode(payload []byte) error
}

// MethodIDs returns the class id and method id a method frame payload
// starts with.
func MethodIDs(payload []byte) (classID, methodID uint16, err error) {
	if len(payload) < 4 {
		return 0, 0, ErrShortPayload
	}
	return binary.BigEndian.Uint16(payload), binary.BigEndian.Uint16(payload[2:]), nil
}

// methodKey packs a class id and method id into one switch key.
func methodKey(classID, methodID uint16) uint32 {
	return uint32(classID)<<16 | uint32(methodID)
}
