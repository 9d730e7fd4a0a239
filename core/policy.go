package core

import (
	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/route"
)

// Policies, as RabbitMQ applies them.
//
// A vhost's policies (and operator policies) apply to its existing and
// future queues and exchanges: when a queue or exchange is declared or
// recovered, and whenever a policy is put or deleted through the Broker
// (PutPolicy, DeletePolicy, PutOperatorPolicy, DeleteOperatorPolicy,
// ImportDefinitions), which re-applies every policy of the vhost at once.
// For each entity the highest-priority matching policy and operator policy
// are merged (auth.Store.EffectiveDefinition) and combined with the
// arguments it was declared with: a declared argument beats the policy,
// except for the numeric limits, where the lower value wins
// (auth.EffectiveArguments). A queue gets the result through
// queue.Queue.SetPolicyArgs, an exchange its alternate-exchange through
// route.Table.SetPolicyAlternate; the declared arguments, which a
// redeclare is compared with, never change.

// queuePolicyKeys are the policy keys that become queue arguments ("x-"
// prefixed), by queue type, as RabbitMQ's queue types accept them:
// delivery-limit is a quorum queue key (rabbit_classic_queue lists it
// among its unsupported policies), and streams take none of these.
var queuePolicyKeys = map[queue.Type][]string{
	queue.Classic: {"message-ttl", "expires", "max-length", "max-length-bytes", "overflow",
		"dead-letter-exchange", "dead-letter-routing-key"},
	queue.Quorum: {"message-ttl", "expires", "max-length", "max-length-bytes", "overflow",
		"dead-letter-exchange", "dead-letter-routing-key", "delivery-limit"},
}

// queueKind is the policy entity kind of a queue type.
func queueKind(typ queue.Type) auth.Kind {
	switch typ {
	case queue.Quorum:
		return auth.KindQuorumQueue
	case queue.Stream:
		return auth.KindStream
	}
	return auth.KindClassicQueue
}

// effectiveQueueArgs returns a queue's declared arguments with the vhost's
// matching policy (and operator policy) applied as RabbitMQ resolves them:
// a declared argument beats the policy, except for the numeric limits where
// the lower value wins. Policy values a queue argument could not take
// (expires 0, a TTL too large) are ignored, as is a dead-letter routing key
// without a dead-letter exchange.
func (v *Vhost) effectiveQueueArgs(name string, declared message.Table, typ queue.Type) message.Table {
	def := v.b.users.EffectiveDefinition(v.name, name, queueKind(typ))
	if len(def) == 0 {
		return declared
	}
	for _, key := range queuePolicyKeys[typ] {
		if val, ok := def[key]; ok && !validPolicyArg(key, val, typ) {
			delete(def, key)
		}
	}
	args := make(map[string]any, len(declared))
	for _, f := range declared {
		args[f.Key] = f.Value
	}
	eff := auth.EffectiveArguments(def, args)
	out := append(message.Table(nil), declared...)
	for _, key := range queuePolicyKeys[typ] {
		if val, ok := eff[key]; ok {
			out = out.Set("x-"+key, policyValue(val))
		}
	}
	if _, ok := out.Get("x-dead-letter-exchange"); !ok {
		out = out.Delete("x-dead-letter-routing-key")
	}
	return out
}

// validPolicyArg reports whether a policy value is one the queue argument
// of the same name accepts (queue.ParseQueueArgs checks it). A quorum
// queue ignores overflow reject-publish-dlx, which it does not support.
func validPolicyArg(key string, val any, typ queue.Type) bool {
	if typ == queue.Quorum && key == "overflow" && val == "reject-publish-dlx" {
		return false
	}
	t := message.Table{{Key: "x-" + key, Value: policyValue(val)}}
	if key == "dead-letter-routing-key" {
		t = append(t, message.Field{Key: "x-dead-letter-exchange", Value: ""})
	}
	_, err := queue.ParseArgs(t)
	return err == nil
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

// ApplyPolicies applies the vhost's current policies to every queue and
// exchange it holds. The Broker's policy calls run it; a caller that
// changes policies through the user store directly must run it after.
func (v *Vhost) ApplyPolicies() {
	v.policyMu.Lock()
	defer v.policyMu.Unlock()
	for _, q := range v.Queues() {
		v.applyQueuePolicy(q)
	}
	for _, x := range v.routes.Exchanges() {
		v.applyExchangePolicy(x.Name)
	}
}

// applyQueuePolicy recomputes q's effective arguments and applies them.
// The caller holds policyMu.
func (v *Vhost) applyQueuePolicy(q *queue.Queue) {
	name := q.Name()
	v.mu.RLock()
	d, cur := v.declared[name], v.queues[name]
	v.mu.RUnlock()
	if cur != q {
		return // deleted meanwhile
	}
	args, err := queue.ParseQueueArgs(v.name, name, v.effectiveQueueArgs(name, d.table, d.args.Type))
	if err != nil {
		v.b.log.Warn("policy not applied", "vhost", v.name, "queue", name, "err", err)
		return
	}
	_ = q.SetPolicyArgs(args) // ErrDeleted: the queue went meanwhile
}

// applyExchangePolicy gives exchange name the alternate exchange its
// effective policy sets, if any (a declared argument still wins). The
// caller holds policyMu.
func (v *Vhost) applyExchangePolicy(name string) {
	def := v.b.users.EffectiveDefinition(v.name, name, auth.KindExchange)
	ae, ok := def[route.ArgAlternateExchange].(string)
	_ = v.routes.SetPolicyAlternate(name, ae, ok) // ErrNotFound: deleted meanwhile
}

// QueuePolicy returns the name of the policy applied to queue name ("" when
// none) and the effective policy definition: the policy merged with the
// operator policy (RabbitMQ's management API shows them as policy and
// effective_policy_definition). def is nil when no policy applies or the
// queue does not exist.
func (v *Vhost) QueuePolicy(name string) (policyName string, def map[string]any) {
	v.mu.RLock()
	d, ok := v.declared[name]
	v.mu.RUnlock()
	if !ok {
		return "", nil
	}
	return v.policyOf(name, queueKind(d.args.Type))
}

// ExchangePolicy is QueuePolicy for exchange name.
func (v *Vhost) ExchangePolicy(name string) (policyName string, def map[string]any) {
	if _, err := v.routes.Lookup(name); err != nil || name == "" {
		return "", nil
	}
	return v.policyOf(name, auth.KindExchange)
}

// policyOf returns the effective policy's name and merged definition of an
// entity.
func (v *Vhost) policyOf(name string, k auth.Kind) (string, map[string]any) {
	def := v.b.users.EffectiveDefinition(v.name, name, k)
	if p := v.b.users.EffectivePolicy(v.name, name, k); p != nil {
		return p.Name, def
	}
	return "", def
}

// PutPolicy creates or replaces a policy (see auth.Store.PutPolicy) and
// applies the vhost's policies to its queues and exchanges at once.
func (b *Broker) PutPolicy(p auth.Policy) error {
	if err := b.users.PutPolicy(p); err != nil {
		return err
	}
	b.applyPolicies(p.Vhost)
	return nil
}

// DeletePolicy removes a policy and applies what remains at once.
func (b *Broker) DeletePolicy(vhost, name string) error {
	if err := b.users.DeletePolicy(vhost, name); err != nil {
		return err
	}
	b.applyPolicies(vhost)
	return nil
}

// PutOperatorPolicy is PutPolicy for an operator policy.
func (b *Broker) PutOperatorPolicy(p auth.Policy) error {
	if err := b.users.PutOperatorPolicy(p); err != nil {
		return err
	}
	b.applyPolicies(p.Vhost)
	return nil
}

// DeleteOperatorPolicy is DeletePolicy for an operator policy.
func (b *Broker) DeleteOperatorPolicy(vhost, name string) error {
	if err := b.users.DeleteOperatorPolicy(vhost, name); err != nil {
		return err
	}
	b.applyPolicies(vhost)
	return nil
}

// applyPolicies runs ApplyPolicies on vhost, when the broker has it.
func (b *Broker) applyPolicies(vhost string) {
	if v, err := b.Vhost(vhost); err == nil {
		v.ApplyPolicies()
	}
}
