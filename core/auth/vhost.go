package auth

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
)

// Vhost is a virtual host and its metadata. Values returned by the Store
// are copies.
type Vhost struct {
	Name             string           `json:"name"`
	Description      string           `json:"description,omitempty"`
	Tags             []string         `json:"tags"`
	DefaultQueueType string           `json:"default_queue_type,omitempty"` // classic, quorum, stream
	Limits           map[string]int64 `json:"limits,omitempty"`             // max-connections, max-queues
}

func (v *Vhost) clone() *Vhost {
	c := *v
	c.Tags = slices.Clone(v.Tags)
	c.Limits = maps.Clone(v.Limits)
	return &c
}

func putVhost(st *state, b *batch, v *Vhost) {
	if v.Tags == nil {
		v.Tags = []string{}
	}
	st.vhosts[v.Name] = v
	b.put(kindVhost, v.Name, v)
}

func loadVhost(st *state, val []byte) error {
	var v Vhost
	if err := json.Unmarshal(val, &v); err != nil {
		return err
	}
	st.vhosts[v.Name] = &v
	return nil
}

// Vhost returns a copy of the named vhost.
func (s *Store) Vhost(name string) (*Vhost, bool) {
	v, ok := s.snap().vhosts[name]
	if !ok {
		return nil, false
	}
	return v.clone(), true
}

// VhostExists reports whether the vhost exists.
func (s *Store) VhostExists(name string) bool {
	_, ok := s.snap().vhosts[name]
	return ok
}

// Vhosts returns copies of all vhosts sorted by name.
func (s *Store) Vhosts() []*Vhost { return listVhosts(s.snap()) }

func listVhosts(st *state) []*Vhost {
	out := make([]*Vhost, 0, len(st.vhosts))
	for _, v := range st.vhosts {
		out = append(out, v.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// PutVhost creates a vhost or replaces its metadata.
func (s *Store) PutVhost(v Vhost) error {
	if v.Name == "" {
		return fmt.Errorf("%w: empty vhost name", ErrBadName)
	}
	switch v.DefaultQueueType {
	case "", "classic", "quorum", "stream":
	default:
		return fmt.Errorf("%w: vhost %q: default queue type %q", ErrBadName, v.Name, v.DefaultQueueType)
	}
	n := v.clone()
	n.Tags = normTags(v.Tags)
	return s.update(func(st *state, b *batch) error {
		putVhost(st, b, n)
		return nil
	})
}

// DeleteVhost removes a vhost with its permissions, topic permissions,
// policies, operator policies and AWS account mappings. Deleting its
// exchanges and queues is the core's business.
func (s *Store) DeleteVhost(name string) error {
	return s.update(func(st *state, b *batch) error {
		if _, ok := st.vhosts[name]; !ok {
			return fmt.Errorf("%w: %q", ErrNoVhost, name)
		}
		delete(st.vhosts, name)
		b.del(kindVhost, name)
		for k := range st.perms {
			if k.vhost == name {
				deletePermission(st, b, k)
			}
		}
		for k := range st.topic {
			if k.vhost == name {
				deleteTopicPermissions(st, b, k, "")
			}
		}
		for pn := range st.policies[name] {
			b.del(kindPolicy, policyKey(name, pn))
		}
		for pn := range st.opPolicies[name] {
			b.del(kindOpPolicy, policyKey(name, pn))
		}
		delete(st.policies, name)
		delete(st.opPolicies, name)
		for k, v := range st.accounts {
			if v == name {
				delete(st.accounts, k)
				b.del(kindAccount, accountKey(k.account, k.region))
			}
		}
		return nil
	})
}

// AccountMapping maps an AWS account id (and region, "" = every region) to
// a vhost.
type AccountMapping struct {
	Account string `json:"account"`
	Region  string `json:"region,omitempty"`
	Vhost   string `json:"vhost"`
}

func accountKey(account, region string) string { return account + "\x00" + region }

func putAccount(st *state, b *batch, account, region, vhost string) {
	st.accounts[acct{account, region}] = vhost
	b.put(kindAccount, accountKey(account, region), AccountMapping{account, region, vhost})
}

func loadAccount(st *state, val []byte) error {
	var m AccountMapping
	if err := json.Unmarshal(val, &m); err != nil {
		return err
	}
	st.accounts[acct{m.Account, m.Region}] = m.Vhost
	return nil
}

func validAccount(id string) bool {
	if len(id) != 12 {
		return false
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// MapAccount maps AWS account id (12 digits) in region ("" = every region)
// to an existing vhost, replacing any previous mapping of that pair.
func (s *Store) MapAccount(account, region, vhost string) error {
	if !validAccount(account) {
		return fmt.Errorf("%w: AWS account id %q is not 12 digits", ErrBadName, account)
	}
	return s.update(func(st *state, b *batch) error {
		if _, ok := st.vhosts[vhost]; !ok {
			return fmt.Errorf("%w: %q", ErrNoVhost, vhost)
		}
		putAccount(st, b, account, region, vhost)
		return nil
	})
}

// UnmapAccount removes the mapping of (account, region).
func (s *Store) UnmapAccount(account, region string) error {
	return s.update(func(st *state, b *batch) error {
		k := acct{account, region}
		if _, ok := st.accounts[k]; !ok {
			return fmt.Errorf("%w: %s/%s", ErrNoAccount, account, region)
		}
		delete(st.accounts, k)
		b.del(kindAccount, accountKey(account, region))
		return nil
	})
}

// VhostForAccount returns the vhost of an AWS account in a region: the
// mapping for exactly (account, region) if any, else the account's
// every-region mapping.
func (s *Store) VhostForAccount(account, region string) (string, bool) {
	st := s.snap()
	if v, ok := st.accounts[acct{account, region}]; ok {
		return v, true
	}
	v, ok := st.accounts[acct{account, ""}]
	return v, ok
}

// AccountForVhost returns the AWS account id mapped to vhost, preferring
// an every-region mapping and then the smallest account id; "" if the vhost
// has no account (it is then not reachable through the AWS face).
func (s *Store) AccountForVhost(vhost string) string {
	best, bestAny := "", false
	for k, v := range s.snap().accounts {
		if v != vhost {
			continue
		}
		anyRegion := k.region == ""
		if best == "" || (anyRegion && !bestAny) || (anyRegion == bestAny && k.account < best) {
			best, bestAny = k.account, anyRegion
		}
	}
	return best
}

// Accounts lists the account mappings sorted by account and region.
func (s *Store) Accounts() []AccountMapping {
	st := s.snap()
	out := make([]AccountMapping, 0, len(st.accounts))
	for k, v := range st.accounts {
		out = append(out, AccountMapping{k.account, k.region, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Account != out[j].Account {
			return out[i].Account < out[j].Account
		}
		return out[i].Region < out[j].Region
	})
	return out
}

// SetVhostLimits replaces a vhost's limits (max-connections, max-queues);
// nil clears them.
func (s *Store) SetVhostLimits(name string, limits map[string]int64) error {
	return s.update(func(st *state, b *batch) error {
		v, ok := st.vhosts[name]
		if !ok {
			return fmt.Errorf("%w: %q", ErrNoVhost, name)
		}
		n := v.clone()
		n.Limits = maps.Clone(limits)
		putVhost(st, b, n)
		return nil
	})
}
