package core

import (
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
)

// queuePolicyArgs are the policy keys that become queue arguments ("x-"
// prefixed), as RabbitMQ applies them to classic and quorum queues.
var queuePolicyArgs = []string{
	"message-ttl", "expires", "max-length", "max-length-bytes", "overflow",
	"dead-letter-exchange", "dead-letter-routing-key", "delivery-limit",
}

// effectiveQueueArgs returns a queue's declared arguments with the vhost's
// matching policy (and operator policy) applied as RabbitMQ resolves them:
// a declared argument beats the policy, except for the numeric limits where
// the lower value wins. Policies are applied when a queue is declared or
// recovered; a policy changed later applies from the next restart.
func (v *Vhost) effectiveQueueArgs(name string, declared message.Table, typ queue.Type) message.Table {
	kind := auth.KindClassicQueue
	if typ == queue.Quorum {
		kind = auth.KindQuorumQueue
	}
	def := v.b.users.EffectiveDefinition(v.name, name, kind)
	if len(def) == 0 {
		return declared
	}
	args := make(map[string]any, len(declared))
	for _, f := range declared {
		args[f.Key] = f.Value
	}
	eff := auth.EffectiveArguments(def, args)
	out := append(message.Table(nil), declared...)
	for _, key := range queuePolicyArgs {
		val, ok := eff[key]
		if !ok {
			continue
		}
		out = out.Set("x-"+key, policyValue(val))
	}
	return out
}

// policyValue turns a policy definition value into a field-table value.
func policyValue(v any) any {
	switch n := v.(type) {
	case int64, string, bool, float64:
		return n
	case int:
		return int64(n)
	}
	return v
}
