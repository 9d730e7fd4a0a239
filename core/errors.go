package core

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/route"
)

// Error kinds. Every error a Broker or Vhost method returns wraps exactly one
// of these sentinels (compare with errors.Is); its text is RabbitMQ's reply
// text without the code prefix, e.g. "no queue 'q' in vhost '/'". Each face
// maps the kinds to its protocol's codes in one place.
var (
	// ErrNotFound: a named vhost, exchange or queue does not exist (AMQP 404).
	ErrNotFound = errors.New("not found")
	// ErrLocked: an exclusive queue of another connection (AMQP 405).
	ErrLocked = errors.New("resource locked")
	// ErrPrecondition: inequivalent redeclare, bad argument, in use,
	// not empty (AMQP 406).
	ErrPrecondition = errors.New("precondition failed")
	// ErrAccessRefused: reserved names, internal exchanges, exclusive
	// consumers, permissions (AMQP 403).
	ErrAccessRefused = errors.New("access refused")
	// ErrInvalid: a malformed request, such as an unknown exchange type
	// (AMQP 503 COMMAND_INVALID).
	ErrInvalid = errors.New("command invalid")
	// ErrNotAllowed: a vhost the user may not open (AMQP 530).
	ErrNotAllowed = errors.New("not allowed")
	// ErrStore: the store refused a write (disk full, closed).
	ErrStore = errors.New("store failure")
	// ErrQueueLimit: a new queue past Config.MaxQueuesPerVhost. Its kind
	// is ErrPrecondition (AMQP 406, as RabbitMQ); faces with a quota
	// error of their own (SQS OverLimit) match this one first.
	ErrQueueLimit = errors.New("queue limit reached")
)

// Error is a core error: a kind (one of the sentinels above) and the text a
// client is shown.
type Error struct {
	Kind error
	Text string
	Err  error // the underlying error, if any
}

func (e *Error) Error() string { return e.Text }

// Is matches the kind and the underlying error.
func (e *Error) Is(target error) bool {
	return target == e.Kind || (e.Err != nil && errors.Is(e.Err, target))
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Text: fmt.Sprintf(format, args...)}
}

func noQueue(name, vhost string) error {
	return errorf(ErrNotFound, "no queue '%s' in vhost '%s'", name, vhost)
}

// classify turns an error of a core subpackage into an *Error with a kind.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	kind := ErrPrecondition
	switch {
	case errors.Is(err, route.ErrNotFound):
		kind = ErrNotFound
	case errors.Is(err, route.ErrReserved), errors.Is(err, route.ErrInternal), errors.Is(err, route.ErrDefaultExchange),
		errors.Is(err, queue.ErrExclusiveConsumer):
		kind = ErrAccessRefused
	case errors.Is(err, route.ErrUnknownType):
		kind = ErrInvalid
	case errors.Is(err, queue.ErrDeleted):
		kind = ErrNotFound
	}
	return &Error{Kind: kind, Text: err.Error(), Err: err}
}

// maxNameLen is the longest queue or exchange name: an AMQP short string.
const maxNameLen = 255

// checkName refuses names no face can carry: longer than 255 bytes or not
// valid UTF-8 (RabbitMQ's limits).
func checkName(kind, name, vhost string) error {
	if len(name) > maxNameLen {
		return errorf(ErrInvalid, "%s name is longer than %d bytes in vhost '%s'", kind, maxNameLen, vhost)
	}
	if !utf8.ValidString(name) {
		return errorf(ErrInvalid, "%s name %q is not valid UTF-8 in vhost '%s'", kind, name, vhost)
	}
	return nil
}
