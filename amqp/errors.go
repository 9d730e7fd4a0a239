package amqp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/junctionmq/junction/core"
	"github.com/junctionmq/junction/protocol/amqp091"
)

// Errors of the face's Broker interface that are not core errors: the
// adapter (corebroker.go) and the face itself return them; errors of the
// core (*core.Error) carry their own kind and text and are mapped by
// coreReply. replyFor is the one place both become AMQP reply codes.
var (
	// ErrAuthFailed: wrong user or password, or user not allowed from this
	// address. Connection 403.
	ErrAuthFailed = errors.New("authentication failed")
	// ErrVhostNotFound: connection.open for a vhost that does not exist.
	// Connection 530.
	ErrVhostNotFound = errors.New("vhost not found")
	// ErrVhostAccess: the user has no permission on the vhost. 530.
	ErrVhostAccess = errors.New("vhost access refused")
	// ErrAccessRefused: a permission check failed. Channel 403.
	ErrAccessRefused = errors.New("access refused")
	// ErrQueueNotFound: no such queue. Channel 404.
	ErrQueueNotFound = errors.New("queue not found")
	// ErrExchangeNotFound: no such exchange. Channel 404.
	ErrExchangeNotFound = errors.New("exchange not found")
	// ErrQueueLocked: an exclusive queue of another connection. Channel 405.
	ErrQueueLocked = errors.New("queue locked")
	// ErrExclusiveUse: the queue has an exclusive consumer, or an exclusive
	// consume found other consumers. Channel 403.
	ErrExclusiveUse = errors.New("queue in exclusive use")
	// ErrInequivalent: redeclared with other properties or arguments.
	// Channel 406.
	ErrInequivalent = errors.New("inequivalent arguments")
	// ErrInUse: delete if-unused of a queue with consumers or an exchange
	// with bindings. Channel 406.
	ErrInUse = errors.New("in use")
	// ErrNotEmpty: queue.delete if-empty of a queue with messages. 406.
	ErrNotEmpty = errors.New("not empty")
	// ErrPrecondition: any other failed precondition (invalid argument
	// values). Channel 406.
	ErrPrecondition = errors.New("precondition failed")
	// ErrExchangeType: exchange.declare with an unknown type. Connection
	// 503, as RabbitMQ.
	ErrExchangeType = errors.New("invalid exchange type")
	// ErrInternalExchange: basic.publish to an internal exchange. 403.
	ErrInternalExchange = errors.New("internal exchange")
)

// replyError is an AMQP error the face sends as channel.close (soft) or
// connection.close (hard). Text is the full reply text, as RabbitMQ
// writes it: "NOT_FOUND - no queue 'q' in vhost '/'".
type replyError struct {
	code     uint16
	text     string
	hard     bool
	classID  uint16 // the method that failed, 0 when none
	methodID uint16
}

func (e *replyError) Error() string { return fmt.Sprintf("%d %s", e.code, e.text) }

// softErr returns a channel error.
func softErr(code uint16, format string, args ...any) *replyError {
	return &replyError{code: code, text: amqp091.CodeName(code) + " - " + fmt.Sprintf(format, args...)}
}

// hardErr returns a connection error.
func hardErr(code uint16, format string, args ...any) *replyError {
	e := softErr(code, format, args...)
	e.hard = true
	return e
}

// object names what a failed call was about, for RabbitMQ's texts. The
// core may name the missing queue or exchange itself by wrapping the
// sentinel: fmt.Errorf("%w: name", ErrExchangeNotFound).
type object struct {
	kind     string // "queue" or "exchange": what name is
	name     string
	queue    string // the queue involved, if any
	exchange string // the exchange involved, if any
	vhost    string
	user     string
}

// replyFor translates an error of the core into the reply RabbitMQ sends.
// This is the one place core errors become AMQP reply codes.
func replyFor(err error, o object) *replyError {
	var re *replyError
	if errors.As(err, &re) {
		return re
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		return coreReply(ce)
	}
	switch {
	case errors.Is(err, ErrQueueNotFound):
		return softErr(amqp091.NotFound, "no queue '%s' in vhost '%s'", detailOr(err, ErrQueueNotFound, o.queue), o.vhost)
	case errors.Is(err, ErrExchangeNotFound):
		return softErr(amqp091.NotFound, "no exchange '%s' in vhost '%s'", detailOr(err, ErrExchangeNotFound, o.exchange), o.vhost)
	case errors.Is(err, ErrQueueLocked):
		return softErr(amqp091.ResourceLocked, "cannot obtain exclusive access to locked queue '%s' in vhost '%s'. "+
			"It could be originally declared on another connection or the exclusive property value does not match "+
			"that of the original declaration.", o.queue, o.vhost)
	case errors.Is(err, ErrExclusiveUse):
		return softErr(amqp091.AccessRefused, "queue '%s' in vhost '%s' in exclusive use", o.queue, o.vhost)
	case errors.Is(err, ErrInUse):
		return softErr(amqp091.PreconditionFailed, "%s '%s' in vhost '%s' in use", o.kind, o.name, o.vhost)
	case errors.Is(err, ErrNotEmpty):
		return softErr(amqp091.PreconditionFailed, "%s '%s' in vhost '%s' not empty", o.kind, o.name, o.vhost)
	case errors.Is(err, ErrInequivalent):
		return softErr(amqp091.PreconditionFailed, "%s", detailOr(err, ErrInequivalent,
			fmt.Sprintf("inequivalent arg for %s '%s' in vhost '%s'", o.kind, o.name, o.vhost)))
	case errors.Is(err, ErrPrecondition):
		return softErr(amqp091.PreconditionFailed, "%s", detailOr(err, ErrPrecondition, err.Error()))
	case errors.Is(err, ErrInternalExchange):
		return softErr(amqp091.AccessRefused, "cannot publish to internal exchange '%s' in vhost '%s'", o.exchange, o.vhost)
	case errors.Is(err, ErrAccessRefused):
		return softErr(amqp091.AccessRefused, "%s", detailOr(err, ErrAccessRefused,
			fmt.Sprintf("access to %s '%s' in vhost '%s' refused", o.kind, o.name, o.vhost)))
	case errors.Is(err, ErrExchangeType):
		return hardErr(amqp091.CommandInvalid, "%s", detailOr(err, ErrExchangeType, "invalid exchange type"))
	case errors.Is(err, ErrVhostNotFound):
		return hardErr(amqp091.NotAllowed, "vhost %s not found", o.vhost)
	case errors.Is(err, ErrVhostAccess):
		return hardErr(amqp091.NotAllowed, "access to vhost '%s' refused for user '%s'", o.vhost, o.user)
	}
	return hardErr(amqp091.InternalError, "%v", err)
}

// coreReply maps a core error's kind to its reply code; the core's text is
// already RabbitMQ's reply text.
func coreReply(ce *core.Error) *replyError {
	switch {
	case errors.Is(ce.Kind, core.ErrNotFound):
		return softErr(amqp091.NotFound, "%s", ce.Text)
	case errors.Is(ce.Kind, core.ErrLocked):
		return softErr(amqp091.ResourceLocked, "%s", ce.Text)
	case errors.Is(ce.Kind, core.ErrPrecondition):
		return softErr(amqp091.PreconditionFailed, "%s", ce.Text)
	case errors.Is(ce.Kind, core.ErrAccessRefused):
		return softErr(amqp091.AccessRefused, "%s", ce.Text)
	case errors.Is(ce.Kind, core.ErrInvalid):
		return hardErr(amqp091.CommandInvalid, "%s", ce.Text)
	case errors.Is(ce.Kind, core.ErrNotAllowed):
		return hardErr(amqp091.NotAllowed, "%s", ce.Text)
	}
	return hardErr(amqp091.InternalError, "%s", ce.Text)
}

// detailOr returns the text the core wrapped around sentinel
// (fmt.Errorf("%w: detail", sentinel)), or def when there is none.
func detailOr(err, sentinel error, def string) string {
	msg, prefix := err.Error(), sentinel.Error()+": "
	if i := strings.Index(msg, prefix); i >= 0 {
		return msg[i+len(prefix):]
	}
	return def
}
