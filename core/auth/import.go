package auth

import (
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strings"
)

// importPlan is a validated definitions file, ready to apply.
type importPlan struct {
	vhosts      []*Vhost
	vhostLimits map[string]map[string]int64
	users       []*User
	perms       []*Permission
	topics      []*TopicPermission
	policies    []*Policy
	opPolicies  []*Policy
	skipped     []string
}

func (p *importPlan) skip(format string, args ...any) {
	p.skipped = append(p.skipped, fmt.Sprintf(format, args...))
}

// ImportDefinitions imports the users, vhosts, permissions, topic
// permissions, policies, operator policies and vhost-limits parameters of d,
// creating or replacing entries of the same name (RabbitMQ's import
// semantics: nothing is deleted). Everything is validated before anything
// is written; an invalid entry returns an error wrapping ErrDefinitions
// naming its key and index. What Junction does not support is reported in
// skipped instead: unknown top-level keys, federation and shovel parameters,
// ha-* and federation-* policy keys (and policies left empty by that),
// permissions or policies naming a vhost or user that does not exist.
// Exchanges, queues, bindings and the remaining parameters are left to the
// caller.
func (s *Store) ImportDefinitions(d *Definitions) (skipped []string, err error) {
	p := &importPlan{vhostLimits: map[string]map[string]int64{}}
	for _, k := range d.UnknownKeys {
		p.skip("unknown top-level key %q", k)
	}
	steps := []func(*Definitions) error{
		p.planVhosts, p.planParameters, p.planUsers, p.planPermissions,
		p.planTopicPermissions, p.planPolicies,
	}
	for _, step := range steps {
		if err := step(d); err != nil {
			return nil, err
		}
	}
	err = s.update(func(st *state, b *batch) error {
		p.apply(s, st, b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p.skipped, nil
}

func defErr(key string, i int, err error) error {
	return fmt.Errorf("%w: %s[%d]: %v", ErrDefinitions, key, i, err)
}

func (p *importPlan) planVhosts(d *Definitions) error {
	for _, v := range d.Vhosts {
		n := &Vhost{Name: v.Name, Description: v.Description, Tags: normTags(v.Tags), DefaultQueueType: v.DefaultQueueType}
		if m := v.Metadata; m != nil {
			if n.Description == "" {
				n.Description = m.Description
			}
			if len(n.Tags) == 0 {
				n.Tags = normTags(m.Tags)
			}
			if n.DefaultQueueType == "" {
				n.DefaultQueueType = m.DefaultQueueType
			}
		}
		switch n.DefaultQueueType {
		case "classic", "quorum", "stream":
		default: // older exports write "undefined"
			n.DefaultQueueType = ""
		}
		p.vhosts = append(p.vhosts, n)
	}
	return nil
}

func (p *importPlan) planParameters(d *Definitions) error {
	for i, prm := range d.Parameters {
		switch {
		case prm.Component == "vhost-limits":
			var lim map[string]int64
			if err := json.Unmarshal(prm.Value, &lim); err != nil {
				return defErr("parameters", i, fmt.Errorf("vhost-limits value: %v", err))
			}
			p.vhostLimits[prm.Vhost] = lim
		case strings.HasPrefix(prm.Component, "federation"), strings.HasPrefix(prm.Component, "shovel"):
			p.skip("parameters[%d]: %s %q in vhost %q: not supported", i, prm.Component, prm.Name, prm.Vhost)
		}
	}
	return nil
}

func (p *importPlan) planUsers(d *Definitions) error {
	for i, u := range d.Users {
		alg, hash := u.HashingAlgorithm, u.PasswordHash
		switch {
		case hash == "" && u.Password != "":
			alg, hash = HashSHA256, HashPassword(u.Password)
		case alg == "":
			alg = HashMD5 // rabbit_password:hashing_mod(undefined): pre-3.6 exports
		}
		raw, err := decodeHash(hash, alg)
		if err != nil {
			return defErr("users", i, err)
		}
		p.users = append(p.users, &User{Name: u.Name, Tags: normTags(u.Tags), Limits: maps.Clone(u.Limits), hash: raw, alg: alg})
	}
	return nil
}

func (p *importPlan) planPermissions(d *Definitions) error {
	for i, r := range d.Permissions {
		perm, err := newPermission(r.User, r.Vhost, r.Configure, r.Write, r.Read)
		if err != nil {
			return defErr("permissions", i, err)
		}
		p.perms = append(p.perms, perm)
	}
	return nil
}

func (p *importPlan) planTopicPermissions(d *Definitions) error {
	for i, r := range d.TopicPermissions {
		t, err := newTopicPermission(r.User, r.Vhost, r.Exchange, r.Write, r.Read)
		if err != nil {
			return defErr("topic_permissions", i, err)
		}
		p.topics = append(p.topics, t)
	}
	return nil
}

func (p *importPlan) planPolicies(d *Definitions) error {
	for _, set := range []struct {
		key  string
		defs []PolicyDef
		out  *[]*Policy
	}{{"policies", d.Policies, &p.policies}, {"operator_policies", d.OperatorPolicies, &p.opPolicies}} {
		for i, r := range set.defs {
			def := map[string]any{}
			for k, v := range r.Definition {
				if _, known := policyKeys[k]; known && !unsupportedPolicyKey(k) {
					def[k] = v
					continue
				}
				p.skip("%s[%d]: policy %q in vhost %q: key %q not supported", set.key, i, r.Name, r.Vhost, k)
			}
			if len(def) == 0 {
				p.skip("%s[%d]: policy %q in vhost %q: no supported keys left, not imported", set.key, i, r.Name, r.Vhost)
				continue
			}
			pol, err := newPolicy(Policy{Vhost: r.Vhost, Name: r.Name, Pattern: r.Pattern, ApplyTo: r.ApplyTo, Priority: r.Priority, Definition: def})
			if err != nil {
				return defErr(set.key, i, err)
			}
			*set.out = append(*set.out, pol)
		}
	}
	return nil
}

// apply writes the plan into st; dangling references are skipped.
func (p *importPlan) apply(s *Store, st *state, b *batch) {
	for _, v := range p.vhosts {
		if old, ok := st.vhosts[v.Name]; ok {
			v.Limits = maps.Clone(old.Limits)
		}
		if lim, ok := p.vhostLimits[v.Name]; ok {
			v.Limits = lim
		}
		putVhost(st, b, v)
	}
	for name, lim := range p.vhostLimits {
		if v, ok := st.vhosts[name]; ok && !mapsEqual(v.Limits, lim) {
			n := v.clone()
			n.Limits = lim
			putVhost(st, b, n)
		}
	}
	for _, u := range p.users {
		putUser(st, b, u)
	}
	for _, perm := range p.perms {
		if err := checkUserVhost(st, perm.User, perm.Vhost); err != nil {
			p.skip("permission of user %q in vhost %q: %v", perm.User, perm.Vhost, err)
			continue
		}
		putPermission(st, b, perm)
	}
	for _, t := range p.topics {
		if err := checkUserVhost(st, t.User, t.Vhost); err != nil {
			p.skip("topic permission of user %q in vhost %q: %v", t.User, t.Vhost, err)
			continue
		}
		putTopicPermission(st, b, t)
	}
	for i, list := range [][]*Policy{p.policies, p.opPolicies} {
		for _, pol := range list {
			if _, ok := st.vhosts[pol.Vhost]; !ok {
				p.skip("policy %q: %v: %q", pol.Name, ErrNoVhost, pol.Vhost)
				continue
			}
			putPolicyRec(st, b, pol, i == 1)
		}
	}
}

func mapsEqual(a, b map[string]int64) bool { return maps.Equal(a, b) }

// Export returns the store's part of a definitions file: users (with
// password hashes), vhosts, permissions, topic permissions, policies,
// operator policies and vhost-limits parameters, each sorted. The caller
// adds exchanges, queues and bindings. AWS access keys and account mappings
// are not part of RabbitMQ's format and are not exported.
func (s *Store) Export() *Definitions {
	st := s.snap()
	d := &Definitions{
		ProductName: "Junction",
		Users:       []UserDef{}, Vhosts: []VhostDef{}, Permissions: []PermissionDef{},
		TopicPermissions: []TopicPermissionDef{}, Parameters: []ParameterDef{},
		GlobalParameters: []GlobalParameterDef{}, Policies: []PolicyDef{},
		Queues: []QueueDef{}, Exchanges: []ExchangeDef{}, Bindings: []BindingDef{},
	}
	for _, u := range listUsers(st) {
		lim := u.Limits
		if lim == nil {
			lim = map[string]int64{}
		}
		d.Users = append(d.Users, UserDef{Name: u.Name, PasswordHash: u.PasswordHash(),
			HashingAlgorithm: u.alg, Tags: TagList(u.tagList()), Limits: lim})
	}
	for _, v := range listVhosts(st) {
		tags := TagList(normTags(v.Tags))
		d.Vhosts = append(d.Vhosts, VhostDef{Name: v.Name, Description: v.Description, Tags: tags,
			DefaultQueueType: v.DefaultQueueType,
			Metadata:         &VhostMetadata{Description: v.Description, Tags: tags, DefaultQueueType: v.DefaultQueueType}})
		if len(v.Limits) > 0 {
			val, _ := json.Marshal(v.Limits)
			d.Parameters = append(d.Parameters, ParameterDef{Vhost: v.Name, Component: "vhost-limits", Name: "limits", Value: val})
		}
	}
	for _, p := range listPermissions(st, "", "") {
		d.Permissions = append(d.Permissions, PermissionDef{p.User, p.Vhost, p.Configure, p.Write, p.Read})
	}
	for _, t := range listTopicPermissions(st, "", "") {
		d.TopicPermissions = append(d.TopicPermissions, TopicPermissionDef{t.User, t.Vhost, t.Exchange, t.Write, t.Read})
	}
	d.Policies = exportPolicies(listPolicies(st.policies, ""))
	if ops := exportPolicies(listPolicies(st.opPolicies, "")); len(ops) > 0 {
		d.OperatorPolicies = ops
	}
	return d
}

func exportPolicies(ps []*Policy) []PolicyDef {
	out := []PolicyDef{}
	for _, p := range ps {
		out = append(out, PolicyDef{Vhost: p.Vhost, Name: p.Name, Pattern: p.Pattern, ApplyTo: p.ApplyTo,
			Definition: p.Definition, Priority: p.Priority})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Vhost < out[j].Vhost })
	return out
}
