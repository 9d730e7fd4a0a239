package queue

import (
	"fmt"
	"time"

	"github.com/junctionmq/junction/core/message"
)

// Overflow is the x-overflow behaviour of a full queue.
type Overflow uint8

// The overflow modes, as RabbitMQ names them.
const (
	DropHead         Overflow = iota // drop (dead-letter, reason maxlen) the head
	RejectPublish                    // refuse the publish (publisher-confirm nack)
	RejectPublishDLX                 // refuse it and dead-letter it (reason maxlen)
)

// Type is the x-queue-type of a queue.
type Type uint8

// The queue types. Streams are declared here but served elsewhere.
const (
	Classic Type = iota
	Quorum
	Stream
)

// module is RabbitMQ's module name for a queue type, used in its errors.
func (t Type) module() string {
	return [...]string{"rabbit_classic_queue", "rabbit_quorum_queue", "rabbit_stream_queue"}[t]
}

// Unlimited marks an integer argument as absent (no limit).
const Unlimited = -1

// QuorumDeliveryLimit is the x-delivery-limit a quorum queue gets when the
// argument is absent (RabbitMQ 4).
const QuorumDeliveryLimit = 20

// maxPriority is the highest x-max-priority RabbitMQ accepts.
const maxPriority = 255

// maxExpiry is the largest x-expires / x-message-ttl (rabbit_misc:check_expiry).
const maxExpiry = 4294967295

// Args are the parsed AMQP queue arguments. Integer limits use Unlimited
// when the argument is absent.
type Args struct {
	MessageTTL           time.Duration // x-message-ttl; Unlimited when absent (0 is valid)
	Expires              time.Duration // x-expires; Unlimited when absent
	MaxLength            int64         // x-max-length (ready messages)
	MaxLengthBytes       int64         // x-max-length-bytes (ready message bodies)
	Overflow             Overflow      // x-overflow
	DeadLetterExchange   string        // x-dead-letter-exchange; see HasDLX
	HasDLX               bool          // x-dead-letter-exchange was given ("" is the default exchange)
	DeadLetterRoutingKey string        // x-dead-letter-routing-key; see HasDLRK
	HasDLRK              bool
	MaxPriority          uint8 // x-max-priority; 0 = not a priority queue
	SingleActiveConsumer bool  // x-single-active-consumer
	DeliveryLimit        int64 // x-delivery-limit; Unlimited = none (quorum default 20)
	Type                 Type  // x-queue-type

	raw message.Table // the validated arguments as declared, for CheckEquivalent
}

// declareArgs are the arguments RabbitMQ validates and compares on
// redeclare, in its order (rabbit_amqqueue:declare_args/0).
var declareArgs = []struct {
	key   string
	check func(v any, args message.Table) string
}{
	{"x-expires", checkExpires},
	{"x-message-ttl", checkExpiry},
	{"x-dead-letter-exchange", checkString},
	{"x-dead-letter-routing-key", checkDLRK},
	{"x-max-length", checkNonNegInt},
	{"x-max-length-bytes", checkNonNegInt},
	{"x-max-in-memory-length", checkNonNegInt},
	{"x-max-in-memory-bytes", checkNonNegInt},
	{"x-max-priority", checkMaxPriority},
	{"x-overflow", checkOverflow},
	{"x-queue-mode", checkQueueMode},
	{"x-single-active-consumer", checkBool},
	{"x-queue-type", checkQueueType},
	{"x-quorum-initial-group-size", checkPositiveInt},
	{"x-delivery-limit", checkNonNegInt},
	{"x-max-age", checkString},
	{"x-max-segment-size", checkNonNegInt},
	{"x-initial-cluster-size", checkPositiveInt},
}

// quorumRefuses are the declare arguments a quorum queue does not accept.
var quorumRefuses = []string{"x-max-priority", "x-queue-mode"}

// ParseArgs validates queue.declare arguments as RabbitMQ does and returns
// them parsed. Unknown arguments are ignored, as RabbitMQ ignores them. A
// refusal is an *ArgError whose Queue and Vhost are empty: use
// ParseQueueArgs to have them filled.
func ParseArgs(args message.Table) (Args, error) {
	return ParseQueueArgs("", "", args)
}

// ParseQueueArgs is ParseArgs for the named queue, so that errors carry
// RabbitMQ's full text.
func ParseQueueArgs(vhost, name string, args message.Table) (Args, error) {
	for _, d := range declareArgs {
		v, ok := args.Get(d.key)
		if !ok {
			continue
		}
		if reason := d.check(v, args); reason != "" {
			return Args{}, &ArgError{Kind: ArgInvalid, Arg: d.key, Queue: name, Vhost: vhost, Reason: reason}
		}
	}
	a := Args{MessageTTL: Unlimited, Expires: Unlimited, MaxLength: Unlimited,
		MaxLengthBytes: Unlimited, DeliveryLimit: Unlimited}
	if v, ok := args.Get("x-queue-type"); ok {
		a.Type = map[string]Type{"classic": Classic, "quorum": Quorum, "stream": Stream}[v.(string)]
	}
	if a.Type == Quorum {
		for _, k := range quorumRefuses {
			if _, ok := args.Get(k); ok {
				return Args{}, &ArgError{Kind: ArgUnsupported, Arg: k, Queue: name, Vhost: vhost, Type: a.Type.module()}
			}
		}
		a.DeliveryLimit = QuorumDeliveryLimit
	}
	a.fill(args)
	return a, nil
}

// fill sets a's fields from validated args.
func (a *Args) fill(args message.Table) {
	for _, d := range declareArgs {
		v, ok := args.Get(d.key)
		if !ok {
			continue
		}
		a.raw = append(a.raw, message.Field{Key: d.key, Value: v})
		n, _ := message.Int(v)
		switch d.key {
		case "x-message-ttl":
			a.MessageTTL = time.Duration(n) * time.Millisecond
		case "x-expires":
			a.Expires = time.Duration(n) * time.Millisecond
		case "x-max-length":
			a.MaxLength = n
		case "x-max-length-bytes":
			a.MaxLengthBytes = n
		case "x-overflow":
			a.Overflow = map[string]Overflow{"drop-head": DropHead, "reject-publish": RejectPublish,
				"reject-publish-dlx": RejectPublishDLX}[v.(string)]
		case "x-dead-letter-exchange":
			a.DeadLetterExchange, a.HasDLX = v.(string), true
		case "x-dead-letter-routing-key":
			a.DeadLetterRoutingKey, a.HasDLRK = v.(string), true
		case "x-max-priority":
			a.MaxPriority = uint8(n)
		case "x-single-active-consumer":
			a.SingleActiveConsumer = v.(bool)
		case "x-delivery-limit":
			a.DeliveryLimit = n
		}
	}
}

func checkInt(v any) (int64, string) {
	n, ok := message.Int(v)
	if !ok {
		return 0, fmt.Sprintf(`"expected integer, got %s"`, message.TypeName(v))
	}
	return n, ""
}

func checkNonNegInt(v any, _ message.Table) string {
	n, r := checkInt(v)
	if r == "" && n < 0 {
		return fmt.Sprintf("{value_negative,%d}", n)
	}
	return r
}

func checkPositiveInt(v any, t message.Table) string {
	if r := checkNonNegInt(v, t); r != "" {
		return r
	}
	if n, _ := message.Int(v); n == 0 {
		return "{value_zero,0}"
	}
	return ""
}

// checkExpiry is rabbit_misc:check_expiry.
func checkExpiry(v any, _ message.Table) string {
	n, r := checkInt(v)
	switch {
	case r != "":
		return r
	case n < 0:
		return fmt.Sprintf("{value_negative,%d}", n)
	case n > maxExpiry:
		return fmt.Sprintf("{value_too_large,%d,%d}", n, maxExpiry)
	}
	return ""
}

func checkExpires(v any, t message.Table) string {
	if n, ok := message.Int(v); ok && n == 0 {
		return "{value_zero,0}"
	}
	return checkExpiry(v, t)
}

func checkMaxPriority(v any, t message.Table) string {
	if r := checkNonNegInt(v, t); r != "" {
		return r
	}
	if n, _ := message.Int(v); n > maxPriority {
		return fmt.Sprintf("{max_value_exceeded,%d}", n)
	}
	return ""
}

func checkBool(v any, _ message.Table) string {
	if _, ok := v.(bool); !ok {
		return fmt.Sprintf("{unacceptable_type,%s}", message.TypeName(v))
	}
	return ""
}

func checkString(v any, _ message.Table) string {
	if _, ok := v.(string); !ok {
		return fmt.Sprintf("{unacceptable_type,%s}", message.TypeName(v))
	}
	return ""
}

func checkDLRK(v any, t message.Table) string {
	if r := checkString(v, t); r != "" {
		return r
	}
	if _, ok := t.Get("x-dead-letter-exchange"); !ok {
		return "routing_key_but_no_dlx_defined"
	}
	return ""
}

func checkOneOf(v any, what string, known ...string) string {
	s, ok := v.(string)
	if !ok {
		return fmt.Sprintf("{unacceptable_type,%s}", message.TypeName(v))
	}
	for _, k := range known {
		if s == k {
			return ""
		}
	}
	if what == "" {
		return "invalid_overflow"
	}
	return fmt.Sprintf(`"unsupported %s '%s'"`, what, s)
}

func checkOverflow(v any, _ message.Table) string {
	return checkOneOf(v, "", "drop-head", "reject-publish", "reject-publish-dlx")
}

func checkQueueMode(v any, _ message.Table) string {
	return checkOneOf(v, "queue mode", "default", "lazy")
}

func checkQueueType(v any, _ message.Table) string {
	return checkOneOf(v, "queue type", "classic", "quorum", "stream")
}

// Equivalent reports whether a redeclare with b matches a queue declared
// with a (RabbitMQ compares only its declare arguments, integer types by
// value; an absent x-queue-type equals "classic").
func Equivalent(a, b Args) bool {
	return CheckEquivalent("", "", a, b) == nil
}

// CheckEquivalent is Equivalent returning RabbitMQ's "inequivalent arg"
// error for the first difference, as an *ArgError of kind ArgInequivalent.
func CheckEquivalent(vhost, name string, current, requested Args) error {
	for _, d := range declareArgs {
		cv, cok := current.raw.Get(d.key)
		rv, rok := requested.raw.Get(d.key)
		if d.key == "x-queue-type" && current.Type == requested.Type {
			continue
		}
		if cok == rok && (!cok || sameValue(cv, rv)) {
			continue
		}
		return &ArgError{Kind: ArgInequivalent, Arg: d.key, Queue: name, Vhost: vhost,
			Reason: fmt.Sprintf("received %s but current is %s", describe(rv, rok), describe(cv, cok))}
	}
	return nil
}

func sameValue(a, b any) bool {
	if x, ok := message.Int(a); ok {
		y, ok := message.Int(b)
		return ok && x == y
	}
	switch x := a.(type) {
	case string, bool:
		return a == b
	default:
		return fmt.Sprint(x) == fmt.Sprint(b) && message.TypeName(a) == message.TypeName(b)
	}
}

// describe renders a value as rabbit_misc:assert_args_equivalence does.
func describe(v any, present bool) string {
	if !present {
		return "none"
	}
	return fmt.Sprintf("the value '%v' of type '%s'", v, message.TypeName(v))
}
