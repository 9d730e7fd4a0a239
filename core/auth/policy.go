package auth

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"sort"
	"strings"
)

// Kind is the kind of entity a policy is matched against.
type Kind uint8

// Entity kinds for policy matching.
const (
	KindExchange Kind = iota
	KindClassicQueue
	KindQuorumQueue
	KindStream
)

// Policy apply-to values.
const (
	ApplyAll           = "all"
	ApplyQueues        = "queues"
	ApplyExchanges     = "exchanges"
	ApplyClassicQueues = "classic_queues"
	ApplyQuorumQueues  = "quorum_queues"
	ApplyStreams       = "streams"
)

// applies reports whether apply-to a covers kind k (rabbit_policy:matches_type).
func applies(a string, k Kind) bool {
	switch a {
	case ApplyAll:
		return true
	case ApplyExchanges:
		return k == KindExchange
	case ApplyQueues:
		return k != KindExchange
	case ApplyClassicQueues:
		return k == KindClassicQueue
	case ApplyQuorumQueues:
		return k == KindQuorumQueue
	case ApplyStreams:
		return k == KindStream
	}
	return false
}

// Policy is a (user or operator) policy of a vhost. Values returned by the
// Store are copies. Definition numbers are int64 when integral, else float64.
type Policy struct {
	Vhost      string         `json:"vhost"`
	Name       string         `json:"name"`
	Pattern    string         `json:"pattern"`
	ApplyTo    string         `json:"apply-to"`
	Priority   int            `json:"priority"`
	Definition map[string]any `json:"definition"`

	re *regexp.Regexp
}

func (p *Policy) clone() *Policy {
	c := *p
	c.Definition = maps.Clone(p.Definition)
	return &c
}

// Matches reports whether the policy applies to an entity of kind k named name.
func (p *Policy) Matches(name string, k Kind) bool {
	return applies(p.ApplyTo, k) && p.re != nil && p.re.MatchString(name)
}

// policyKeys lists the definition keys Junction understands, with the
// type each takes: 'i' non-negative integer, 's' string, or an enum list.
var policyKeys = map[string][]string{
	"alternate-exchange": {"s"}, "dead-letter-exchange": {"s"}, "dead-letter-routing-key": {"s"},
	"dead-letter-strategy": {"at-most-once", "at-least-once"},
	"message-ttl":          {"i"}, "expires": {"i"}, "max-length": {"i"}, "max-length-bytes": {"i"},
	"delivery-limit": {"i"}, "max-in-memory-length": {"i"}, "max-in-memory-bytes": {"i"},
	"overflow":   {"drop-head", "reject-publish", "reject-publish-dlx"},
	"queue-mode": {"default", "lazy"}, "queue-version": {"i"}, "consumer-timeout": {"i"},
	"max-age": {"s"}, "stream-max-segment-size-bytes": {"i"}, "initial-cluster-size": {"i"},
	"target-group-size": {"i"}, "queue-leader-locator": {"client-local", "balanced", "random", "least-leaders"},
	"queue-master-locator": {"s"},
}

// unsupportedPolicyKey reports keys of features Junction does not have
// (classic mirroring, federation); imports drop them and report them.
func unsupportedPolicyKey(k string) bool {
	return strings.HasPrefix(k, "ha-") || strings.HasPrefix(k, "federation-")
}

// normNumber turns JSON and AMQP numbers into int64 (integral) or float64.
func normNumber(v any) (any, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		if n > math.MaxInt64 {
			return float64(n), true
		}
		return int64(n), true
	case float32:
		return normNumber(float64(n))
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<62 {
			return int64(n), true
		}
		return n, true
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		f, err := n.Float64()
		return f, err == nil
	}
	return nil, false
}

// validateDefinition normalises numbers in place and checks known keys.
func validateDefinition(def map[string]any) error {
	if len(def) == 0 {
		return fmt.Errorf("%w: empty definition", ErrBadPolicy)
	}
	for k, v := range def {
		want, ok := policyKeys[k]
		if !ok {
			return fmt.Errorf("%w: unrecognised definition key %q", ErrBadPolicy, k)
		}
		switch want[0] {
		case "i":
			n, ok := normNumber(v)
			i, isInt := n.(int64)
			if !ok || !isInt || i < 0 {
				return fmt.Errorf("%w: %s: %v is not a non-negative integer", ErrBadPolicy, k, v)
			}
			def[k] = i
		case "s":
			if _, ok := v.(string); !ok {
				return fmt.Errorf("%w: %s: %v is not a string", ErrBadPolicy, k, v)
			}
		default:
			s, _ := v.(string)
			if !containsStr(want, s) {
				return fmt.Errorf("%w: %s: %v is not one of %s", ErrBadPolicy, k, v, strings.Join(want, ", "))
			}
		}
	}
	return nil
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// newPolicy validates p and returns a compiled copy.
func newPolicy(p Policy) (*Policy, error) {
	if p.Name == "" || p.Vhost == "" {
		return nil, fmt.Errorf("%w: policy needs a vhost and a name", ErrBadName)
	}
	n := p.clone()
	if n.ApplyTo == "" {
		n.ApplyTo = ApplyAll
	}
	switch n.ApplyTo {
	case ApplyAll, ApplyQueues, ApplyExchanges, ApplyClassicQueues, ApplyQuorumQueues, ApplyStreams:
	default:
		return nil, fmt.Errorf("%w: policy %q: apply-to %q", ErrBadPolicy, p.Name, p.ApplyTo)
	}
	re, err := regexp.Compile(n.Pattern)
	if err != nil {
		return nil, fmt.Errorf("policy %q: %w: %q: %v", p.Name, ErrBadPattern, n.Pattern, err)
	}
	n.re = re
	if n.Definition == nil {
		n.Definition = map[string]any{}
	}
	if err := validateDefinition(n.Definition); err != nil {
		return nil, fmt.Errorf("policy %q: %w", p.Name, err)
	}
	return n, nil
}

func policyKey(vhost, name string) string { return vhost + "\x00" + name }

func policyMap(st *state, op bool) map[string]map[string]*Policy {
	if op {
		return st.opPolicies
	}
	return st.policies
}

func putPolicyRec(st *state, b *batch, p *Policy, op bool) {
	m := policyMap(st, op)
	if m[p.Vhost] == nil {
		m[p.Vhost] = map[string]*Policy{}
	}
	m[p.Vhost][p.Name] = p
	kind := kindPolicy
	if op {
		kind = kindOpPolicy
	}
	b.put(kind, policyKey(p.Vhost, p.Name), p)
}

func loadPolicy(op bool) func(st *state, val []byte) error {
	return func(st *state, val []byte) error {
		var p Policy
		if err := json.Unmarshal(val, &p); err != nil {
			return err
		}
		n, err := newPolicy(p)
		if err != nil {
			return err
		}
		m := policyMap(st, op)
		if m[n.Vhost] == nil {
			m[n.Vhost] = map[string]*Policy{}
		}
		m[n.Vhost][n.Name] = n
		return nil
	}
}

// PutPolicy creates or replaces a policy. Definition keys must be ones
// Junction supports (see policyKeys); numbers must be integers.
func (s *Store) PutPolicy(p Policy) error { return s.putPolicy(p, false) }

// PutOperatorPolicy creates or replaces an operator policy.
func (s *Store) PutOperatorPolicy(p Policy) error { return s.putPolicy(p, true) }

func (s *Store) putPolicy(p Policy, op bool) error {
	n, err := newPolicy(p)
	if err != nil {
		return err
	}
	return s.update(func(st *state, b *batch) error {
		if _, ok := st.vhosts[n.Vhost]; !ok {
			return fmt.Errorf("%w: %q", ErrNoVhost, n.Vhost)
		}
		putPolicyRec(st, b, n, op)
		return nil
	})
}

// DeletePolicy removes a policy.
func (s *Store) DeletePolicy(vhost, name string) error { return s.deletePolicy(vhost, name, false) }

// DeleteOperatorPolicy removes an operator policy.
func (s *Store) DeleteOperatorPolicy(vhost, name string) error {
	return s.deletePolicy(vhost, name, true)
}

func (s *Store) deletePolicy(vhost, name string, op bool) error {
	return s.update(func(st *state, b *batch) error {
		m := policyMap(st, op)
		if _, ok := m[vhost][name]; !ok {
			return fmt.Errorf("%w: %q in vhost %q", ErrNoPolicy, name, vhost)
		}
		delete(m[vhost], name)
		if len(m[vhost]) == 0 {
			delete(m, vhost)
		}
		kind := kindPolicy
		if op {
			kind = kindOpPolicy
		}
		b.del(kind, policyKey(vhost, name))
		return nil
	})
}

// Policies returns copies of the policies of vhost ("" = every vhost),
// sorted by vhost and name.
func (s *Store) Policies(vhost string) []*Policy { return listPolicies(s.snap().policies, vhost) }

// OperatorPolicies is Policies for operator policies.
func (s *Store) OperatorPolicies(vhost string) []*Policy {
	return listPolicies(s.snap().opPolicies, vhost)
}

func listPolicies(m map[string]map[string]*Policy, vhost string) []*Policy {
	var out []*Policy
	for v, ps := range m {
		if vhost != "" && v != vhost {
			continue
		}
		for _, p := range ps {
			out = append(out, p.clone())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Vhost != out[j].Vhost {
			return out[i].Vhost < out[j].Vhost
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// match returns the policy of vhost that applies to (name, k): the
// matching one with the highest priority. RabbitMQ leaves ties to list
// order; Junction makes them deterministic: the smallest name wins.
func match(ps map[string]*Policy, name string, k Kind) *Policy {
	var best *Policy
	for _, p := range ps {
		if !p.Matches(name, k) {
			continue
		}
		if best == nil || p.Priority > best.Priority || (p.Priority == best.Priority && p.Name < best.Name) {
			best = p
		}
	}
	return best
}

// EffectivePolicy returns a copy of the policy applying to the entity name
// of kind k in vhost, or nil.
func (s *Store) EffectivePolicy(vhost, name string, k Kind) *Policy {
	if p := match(s.snap().policies[vhost], name, k); p != nil {
		return p.clone()
	}
	return nil
}

// EffectiveOperatorPolicy returns a copy of the operator policy applying
// to the entity, or nil.
func (s *Store) EffectiveOperatorPolicy(vhost, name string, k Kind) *Policy {
	if p := match(s.snap().opPolicies[vhost], name, k); p != nil {
		return p.clone()
	}
	return nil
}

// EffectiveDefinition merges the effective policy and operator policy of
// an entity as RabbitMQ does (rabbit_policy:merge_operator_definitions): a
// key set by only one of them is taken from it; for a key set by both, the
// lower value wins for the numeric limits (minKeys), the policy's otherwise.
// The result is a new map, nil when neither policy applies.
func (s *Store) EffectiveDefinition(vhost, name string, k Kind) map[string]any {
	st := s.snap()
	p, op := match(st.policies[vhost], name, k), match(st.opPolicies[vhost], name, k)
	if p == nil && op == nil {
		return nil
	}
	out := map[string]any{}
	if op != nil {
		maps.Copy(out, op.Definition)
	}
	if p != nil {
		for key, v := range p.Definition {
			if ov, ok := out[key]; ok && minKeys[key] {
				out[key] = minNumber(v, ov)
			} else {
				out[key] = v
			}
		}
	}
	return out
}

// minKeys are the keys where the lower of two values wins, both between
// policy and operator policy (rabbit_policies:merge_policy_value) and
// between policy and queue argument (rabbit_amqqueue_process res_min).
var minKeys = map[string]bool{
	"expires": true, "message-ttl": true, "max-length": true, "max-length-bytes": true,
	"delivery-limit": true, "max-in-memory-length": true, "max-in-memory-bytes": true,
}

// minNumber returns the smaller of two numbers; a non-number loses.
func minNumber(a, b any) any {
	na, okA := normNumber(a)
	nb, okB := normNumber(b)
	switch {
	case !okA:
		return nb
	case !okB:
		return na
	}
	if toFloat(nb) < toFloat(na) {
		return nb
	}
	return na
}

func toFloat(v any) float64 {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case float64:
		return n
	}
	return math.NaN()
}

// EffectiveArguments combines an entity's effective policy definition
// (from EffectiveDefinition) with the arguments it was declared with, the
// way RabbitMQ resolves each setting: an argument ("x-message-ttl", or
// "alternate-exchange" on exchanges) overrides the policy key of the same
// name without "x-", except for the minKeys where the lower value wins. The
// result is keyed by policy key names ("message-ttl", "queue-type", …) and
// holds every key of either input; numbers are int64 or float64.
func EffectiveArguments(def, args map[string]any) map[string]any {
	out := make(map[string]any, len(def)+len(args))
	maps.Copy(out, def)
	for k, v := range args {
		key := strings.TrimPrefix(k, "x-")
		if n, ok := normNumber(v); ok {
			v = n
		}
		if pv, ok := out[key]; ok && minKeys[key] {
			out[key] = minNumber(pv, v)
		} else {
			out[key] = v
		}
	}
	return out
}
