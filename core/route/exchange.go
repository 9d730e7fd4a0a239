package route

import "github.com/junctionmq/junction/core/message"

// Kind is an exchange type.
type Kind uint8

// The exchange types.
const (
	Direct Kind = iota + 1
	Fanout
	Topic
	Headers
)

var kindNames = [...]string{"", "direct", "fanout", "topic", "headers"}

// String returns the AMQP name of the type ("direct", ...).
func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}

func (k Kind) valid() bool { return k >= Direct && k <= Headers }

// ParseKind parses an AMQP exchange type name. An unknown name gives an
// *Error wrapping ErrUnknownType; vhost is used for its text only.
func ParseKind(s string) (Kind, error) {
	for k := Direct; k <= Headers; k++ {
		if kindNames[k] == s {
			return k, nil
		}
	}
	return 0, &Error{Err: ErrUnknownType, Resource: "exchange", Detail: s}
}

// ArgAlternateExchange names the exchange argument that sets the alternate
// exchange: where a message goes when the exchange routes it nowhere.
const ArgAlternateExchange = "alternate-exchange"

// Exchange is an exchange definition, as declared and as persisted.
type Exchange struct {
	Name       string
	Kind       Kind
	Durable    bool
	AutoDelete bool // deleted when its last binding (as source) goes, once it had one
	Internal   bool // not publishable by clients; may be an e2e binding destination
	Args       message.Table
}

// AlternateExchange returns the alternate-exchange argument when it is a
// string (RabbitMQ ignores other types).
func (x *Exchange) AlternateExchange() (string, bool) {
	v, ok := x.Args.Get(ArgAlternateExchange)
	s, isStr := v.(string)
	return s, ok && isStr
}

// predeclared are the exchanges every vhost has, as RabbitMQ declares
// them. "amq.match" is a headers exchange.
var predeclared = []Exchange{
	{Name: "amq.direct", Kind: Direct, Durable: true},
	{Name: "amq.fanout", Kind: Fanout, Durable: true},
	{Name: "amq.topic", Kind: Topic, Durable: true},
	{Name: "amq.headers", Kind: Headers, Durable: true},
	{Name: "amq.match", Kind: Headers, Durable: true},
}

// DefaultExchange is the definition reported for the default exchange "".
var DefaultExchange = Exchange{Name: "", Kind: Direct, Durable: true}

// equivalent checks a redeclare against the current definition in
// RabbitMQ's order: type, durable, auto_delete, internal, then the one
// argument RabbitMQ compares, alternate-exchange.
func (x *Exchange) equivalent(req *Exchange, vhost string) error {
	ie := func(arg, recv, cur string) error {
		return &InequivalentError{VHost: vhost, Exchange: x.Name, Arg: arg, Received: recv, Current: cur}
	}
	q := func(s string) string { return "'" + s + "'" }
	b := func(v bool) string {
		if v {
			return "'true'"
		}
		return "'false'"
	}
	switch {
	case req.Kind != x.Kind:
		return ie("type", q(req.Kind.String()), q(x.Kind.String()))
	case req.Durable != x.Durable:
		return ie("durable", b(req.Durable), b(x.Durable))
	case req.AutoDelete != x.AutoDelete:
		return ie("auto_delete", b(req.AutoDelete), b(x.AutoDelete))
	case req.Internal != x.Internal:
		return ie("internal", b(req.Internal), b(x.Internal))
	}
	rv, rok := req.Args.Get(ArgAlternateExchange)
	cv, cok := x.Args.Get(ArgAlternateExchange)
	if rok != cok || rok && !strictEqual(rv, cv) {
		return ie(ArgAlternateExchange, renderArg(rv, rok), renderArg(cv, cok))
	}
	return nil
}
