package auth

import (
	"errors"
	"fmt"
)

// Errors returned by the store; the faces map them to their protocol's answer
// (AMQP ACCESS_REFUSED / NOT_FOUND, MQTT CONNACK codes, AWS error codes,
// HTTP status codes).
var (
	// ErrNoUser means the named user does not exist.
	ErrNoUser = errors.New("auth: no such user")
	// ErrUserExists means a user of that name already exists.
	ErrUserExists = errors.New("auth: user already exists")
	// ErrBadPassword means the password did not match, or the user has no
	// password (certificate-only users).
	ErrBadPassword = errors.New("auth: invalid credentials")
	// ErrAccessRefused means a permission check failed. The error is an
	// *AccessError carrying RabbitMQ's wording.
	ErrAccessRefused = errors.New("auth: access refused")
	// ErrLoopbackOnly means the user may only connect from a loopback address
	// (RabbitMQ's loopback_users).
	ErrLoopbackOnly = errors.New("auth: user can only connect via localhost")
	// ErrNoVhost means the named virtual host does not exist.
	ErrNoVhost = errors.New("auth: no such vhost")
	// ErrBadName means a user, vhost, policy or account name is empty or invalid.
	ErrBadName = errors.New("auth: invalid name")
	// ErrBadPattern means a permission or policy regular expression does not compile.
	ErrBadPattern = errors.New("auth: invalid regular expression")
	// ErrBadHash means a password hash or hashing algorithm is not understood.
	ErrBadHash = errors.New("auth: invalid password hash")
	// ErrBadPolicy means a policy's apply-to, priority or definition is invalid.
	ErrBadPolicy = errors.New("auth: invalid policy")
	// ErrNoPolicy means the named policy does not exist.
	ErrNoPolicy = errors.New("auth: no such policy")
	// ErrNoAccessKey means the AWS access key id is unknown.
	ErrNoAccessKey = errors.New("auth: no such access key")
	// ErrAccessKeyExists means the AWS access key id is already taken.
	ErrAccessKeyExists = errors.New("auth: access key already exists")
	// ErrNoAccount means no vhost is mapped to the AWS account.
	ErrNoAccount = errors.New("auth: no such account mapping")
	// ErrKeyFile means the secret key file is missing, unreadable, malformed
	// or is not the key the stored secrets were encrypted with.
	ErrKeyFile = errors.New("auth: key file")
	// ErrDefinitions means a definitions file is malformed; the error names
	// the key and index.
	ErrDefinitions = errors.New("auth: malformed definitions")
)

// Perm is one of RabbitMQ's three resource permissions.
type Perm uint8

// The permissions, in RabbitMQ's order.
const (
	PermConfigure Perm = iota
	PermWrite
	PermRead
)

// String returns RabbitMQ's name for the permission.
func (p Perm) String() string {
	switch p {
	case PermConfigure:
		return "configure"
	case PermWrite:
		return "write"
	case PermRead:
		return "read"
	}
	return fmt.Sprintf("perm(%d)", uint8(p))
}

// ResourceKind names what a permission check is about.
type ResourceKind string

// Resource kinds as RabbitMQ names them in error texts.
const (
	ResourceQueue    ResourceKind = "queue"
	ResourceExchange ResourceKind = "exchange"
	ResourceTopic    ResourceKind = "topic"
	ResourceVhost    ResourceKind = "vhost"
)

// AccessError is a refused permission check. errors.Is(err,
// ErrAccessRefused) is true. Error() has RabbitMQ's text, so faces can send
// it as the reply text of an ACCESS_REFUSED (403) channel close:
//
//	configure access to queue 'q' in vhost '/' refused for user 'bob'
//	access to vhost 'v' refused for user 'bob'
//	write access to topic 'a.b' in exchange 'amq.topic' in vhost '/' refused for user 'bob'
type AccessError struct {
	User  string
	Vhost string
	Kind  ResourceKind
	Name  string // resource name as checked ("amq.default" for ""); exchange for topics
	Perm  Perm   // unused for ResourceVhost
	// RoutingKey is set for ResourceTopic.
	RoutingKey string
}

// Error returns RabbitMQ's refusal text.
func (e *AccessError) Error() string {
	switch e.Kind {
	case ResourceVhost:
		return fmt.Sprintf("access to vhost '%s' refused for user '%s'", e.Vhost, e.User)
	case ResourceTopic:
		return fmt.Sprintf("%s access to topic '%s' in exchange '%s' in vhost '%s' refused for user '%s'",
			e.Perm, e.RoutingKey, e.Name, e.Vhost, e.User)
	}
	return fmt.Sprintf("%s access to %s '%s' in vhost '%s' refused for user '%s'",
		e.Perm, e.Kind, e.Name, e.Vhost, e.User)
}

// Is makes errors.Is(err, ErrAccessRefused) true.
func (e *AccessError) Is(target error) bool { return target == ErrAccessRefused }
