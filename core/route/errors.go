package route

import (
	"errors"
	"fmt"
)

// Sentinels, compared with errors.Is. Every error this package returns
// wraps one of them in an *Error or an *InequivalentError whose Error text
// is RabbitMQ's reply text without the code name (the AMQP face prefixes
// "NOT_FOUND - " and so on).
var (
	// ErrNotFound: the exchange (or queue/stream destination) does not
	// exist. AMQP 404 NOT_FOUND "no exchange 'x' in vhost '/'".
	ErrNotFound = errors.New("route: not found")
	// ErrInequivalent: a redeclare differs from the existing exchange.
	// AMQP 406 PRECONDITION_FAILED; see InequivalentError.
	ErrInequivalent = errors.New("route: inequivalent redeclare")
	// ErrInUse: delete with if-unused of an exchange that is the source
	// of bindings. AMQP 406 PRECONDITION_FAILED.
	ErrInUse = errors.New("route: exchange in use")
	// ErrReserved: declaring a new exchange named "amq.*", or deleting any
	// "amq.*" exchange. AMQP 403 ACCESS_REFUSED.
	ErrReserved = errors.New("route: reserved name")
	// ErrDefaultExchange: declaring, deleting or binding the default
	// exchange "". AMQP 403 ACCESS_REFUSED.
	ErrDefaultExchange = errors.New("route: operation not permitted on the default exchange")
	// ErrUnknownType: an exchange type this router does not implement.
	// AMQP 503 COMMAND_INVALID in RabbitMQ 3.x (406 in 4.x).
	ErrUnknownType = errors.New("route: unknown exchange type")
	// ErrInternal: publishing to an internal exchange. AMQP 403
	// ACCESS_REFUSED.
	ErrInternal = errors.New("route: internal exchange")
	// ErrInvalidBinding: binding arguments the source exchange rejects
	// (a bad x-match), or a Transform on an exchange-to-exchange binding.
	// AMQP 406 PRECONDITION_FAILED.
	ErrInvalidBinding = errors.New("route: invalid binding")
	// ErrInvalidHeader: a CC or BCC header that is not an array. AMQP 406
	// PRECONDITION_FAILED.
	ErrInvalidHeader = errors.New("route: invalid routing header")
)

// Error is a routing error about one named resource. Err is the sentinel
// it wraps.
type Error struct {
	Err      error
	VHost    string
	Resource string // "exchange" or "queue"
	Name     string
	Detail   string // the exchange type, the bad x-match, the header name
}

func (e *Error) rs() string {
	return fmt.Sprintf("%s '%s' in vhost '%s'", e.Resource, e.Name, e.VHost)
}

// Error returns RabbitMQ's reply text for the error.
func (e *Error) Error() string {
	switch e.Err {
	case ErrNotFound:
		return fmt.Sprintf("no %s '%s' in vhost '%s'", e.Resource, e.Name, e.VHost)
	case ErrInUse:
		return e.rs() + " in use"
	case ErrReserved:
		if e.Detail == "delete" {
			return fmt.Sprintf("deletion of system %s not allowed", e.rs())
		}
		return fmt.Sprintf("%s name '%s' contains reserved prefix 'amq.*'", e.Resource, e.Name)
	case ErrDefaultExchange:
		return "operation not permitted on the default exchange"
	case ErrUnknownType:
		return fmt.Sprintf("unknown exchange type '%s'", e.Detail)
	case ErrInternal:
		return "cannot publish to internal " + e.rs()
	case ErrInvalidBinding:
		return e.Detail
	case ErrInvalidHeader:
		return fmt.Sprintf("invalid message: header '%s' must be an array of longstr", e.Detail)
	}
	return e.Err.Error()
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// InequivalentError reports a redeclare that differs from the existing
// exchange in Arg ("type", "durable", "auto_delete", "internal" or
// "alternate-exchange"). Received and Current are rendered as RabbitMQ
// renders them: "'fanout'" for fields; "none" or "the value 'x' of type
// 'longstr'" for arguments.
type InequivalentError struct {
	VHost, Exchange, Arg string
	Received, Current    string
}

// Error returns RabbitMQ's reply text, e.g. "inequivalent arg 'type' for
// exchange 'x' in vhost '/': received 'fanout' but current is 'direct'".
func (e *InequivalentError) Error() string {
	return fmt.Sprintf("inequivalent arg '%s' for exchange '%s' in vhost '%s': received %s but current is %s",
		e.Arg, e.Exchange, e.VHost, e.Received, e.Current)
}

// Unwrap returns ErrInequivalent.
func (e *InequivalentError) Unwrap() error { return ErrInequivalent }
