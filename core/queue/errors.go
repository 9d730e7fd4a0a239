package queue

import (
	"errors"
	"fmt"
)

// Errors the queue returns. Faces translate them to their protocol in one
// place; compare with errors.Is.
var (
	// ErrExclusiveConsumer means a consumer asked for exclusive use of a
	// queue that already has consumers, or tried to join a queue an
	// exclusive consumer holds (AMQP 403 ACCESS_REFUSED, "in exclusive use").
	ErrExclusiveConsumer = errors.New("queue: in exclusive use")
	// ErrUnknownSeq means an ack, nack or lease change named a sequence
	// number that is not delivered and unsettled (AMQP 406 PRECONDITION_FAILED
	// "unknown delivery tag"; SQS ReceiptHandleIsInvalid).
	ErrUnknownSeq = errors.New("queue: unknown delivery sequence")
	// ErrInUse means Delete(ifUnused) found consumers (AMQP 406).
	ErrInUse = errors.New("queue: in use")
	// ErrNotEmpty means Delete(ifEmpty) found ready messages (AMQP 406).
	ErrNotEmpty = errors.New("queue: not empty")
	// ErrDeleted means the queue was deleted (or expired) before the call.
	ErrDeleted = errors.New("queue: deleted")
	// ErrUnknownConsumer means Cancel named a subscription this queue does
	// not hold (already cancelled or another queue's).
	ErrUnknownConsumer = errors.New("queue: unknown consumer")
	// ErrNilConsumer means Consume was given a nil Consumer.
	ErrNilConsumer = errors.New("queue: nil consumer")
	// ErrNoStore means Recover was called on a queue without a store.
	ErrNoStore = errors.New("queue: no store")
	// ErrStaleDelivery means AckLease or ChangeLeaseIf named a receive
	// that is no longer the message's latest: it was received again since
	// (SQS: an old receipt handle), or, in FIFO mode, its lease expired
	// (SQS FIFO: "The receipt handle has expired").
	ErrStaleDelivery = errors.New("queue: stale delivery")
	// ErrFIFOChange means SetOptions tried to turn FIFO mode on or off
	// (SQS: a queue's type cannot change).
	ErrFIFOChange = errors.New("queue: FIFO mode cannot change")
)

// ArgKind says which RabbitMQ precondition an ArgError reports.
type ArgKind uint8

// The kinds of ArgError.
const (
	// ArgInvalid is a declare argument with a bad type or value.
	ArgInvalid ArgKind = iota
	// ArgInequivalent is a redeclare whose argument differs from the
	// existing queue's.
	ArgInequivalent
	// ArgUnsupported is an argument the queue type does not accept.
	ArgUnsupported
	// PropertyInvalid is a queue property the queue type does not accept
	// (a non-durable, exclusive or auto-delete quorum queue).
	PropertyInvalid
)

// ArgError is a queue declaration the queue refuses. Its text is
// RabbitMQ's, so the AMQP face can send it with 406 PRECONDITION_FAILED
// (channel scope) unchanged. Queue and Vhost may be empty when the error
// comes from ParseArgs; ParseQueueArgs and Validate fill them.
type ArgError struct {
	Kind   ArgKind
	Arg    string // argument or property name ("x-max-length", "non-durable")
	Queue  string
	Vhost  string
	Reason string // RabbitMQ's Erlang-term rendering, e.g. "{value_negative,-1}"
	Type   string // queue type module for ArgUnsupported ("rabbit_quorum_queue")
}

func (e *ArgError) Error() string {
	switch e.Kind {
	case ArgInequivalent:
		return fmt.Sprintf("inequivalent arg '%s' for queue '%s' in vhost '%s': %s",
			e.Arg, e.Queue, e.Vhost, e.Reason)
	case ArgUnsupported:
		return fmt.Sprintf("invalid arg '%s' for queue '%s' in vhost '%s' of queue type %s",
			e.Arg, e.Queue, e.Vhost, e.Type)
	case PropertyInvalid:
		return fmt.Sprintf("invalid property '%s' for queue '%s' in vhost '%s'",
			e.Arg, e.Queue, e.Vhost)
	}
	return fmt.Sprintf("invalid arg '%s' for queue '%s' in vhost '%s': %s",
		e.Arg, e.Queue, e.Vhost, e.Reason)
}
