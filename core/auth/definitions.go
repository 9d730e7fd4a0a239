package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Definitions is a RabbitMQ definitions file (rabbitmqctl
// export_definitions, GET /api/definitions). The auth store imports and
// exports users, vhosts, permissions, topic permissions, policies, operator
// policies and vhost-limits parameters; exchanges, queues, bindings and the
// other parameters are decoded for the caller (the core) to import.
type Definitions struct {
	RabbitVersion    string               `json:"rabbit_version,omitempty"`
	RabbitMQVersion  string               `json:"rabbitmq_version,omitempty"`
	ProductName      string               `json:"product_name,omitempty"`
	ProductVersion   string               `json:"product_version,omitempty"`
	Users            []UserDef            `json:"users"`
	Vhosts           []VhostDef           `json:"vhosts"`
	Permissions      []PermissionDef      `json:"permissions"`
	TopicPermissions []TopicPermissionDef `json:"topic_permissions"`
	Parameters       []ParameterDef       `json:"parameters"`
	GlobalParameters []GlobalParameterDef `json:"global_parameters"`
	Policies         []PolicyDef          `json:"policies"`
	OperatorPolicies []PolicyDef          `json:"operator_policies,omitempty"`
	Queues           []QueueDef           `json:"queues"`
	Exchanges        []ExchangeDef        `json:"exchanges"`
	Bindings         []BindingDef         `json:"bindings"`

	// UnknownKeys are top-level keys ParseDefinitions did not recognise,
	// sorted; ImportDefinitions reports them as skipped.
	UnknownKeys []string `json:"-"`
}

// TagList is a list of tags. It decodes from a JSON list or from RabbitMQ's
// older comma-separated string, and encodes as a list.
type TagList []string

// UnmarshalJSON accepts ["a","b"] and "a,b".
func (t *TagList) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*t = normTags(list)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("tags: want a list or a comma-separated string")
	}
	*t = normTags(strings.Split(s, ","))
	return nil
}

// UserDef is one entry of "users". Password (clear text) is accepted on
// import when PasswordHash is empty and is never exported.
type UserDef struct {
	Name             string           `json:"name"`
	Password         string           `json:"password,omitempty"`
	PasswordHash     string           `json:"password_hash"`
	HashingAlgorithm HashAlgorithm    `json:"hashing_algorithm,omitempty"`
	Tags             TagList          `json:"tags"`
	Limits           map[string]int64 `json:"limits"`
}

func (u *UserDef) validate() error { return need("name", u.Name) }

// String never shows the password or its hash.
func (u UserDef) String() string { return fmt.Sprintf("user %q", u.Name) }

// VhostMetadata is the "metadata" object of a vhost (RabbitMQ 3.11+).
type VhostMetadata struct {
	Description      string  `json:"description,omitempty"`
	Tags             TagList `json:"tags"`
	DefaultQueueType string  `json:"default_queue_type,omitempty"`
}

// VhostDef is one entry of "vhosts".
type VhostDef struct {
	Name             string         `json:"name"`
	Description      string         `json:"description,omitempty"`
	Tags             TagList        `json:"tags"`
	DefaultQueueType string         `json:"default_queue_type,omitempty"`
	Metadata         *VhostMetadata `json:"metadata,omitempty"`
}

func (v *VhostDef) validate() error { return need("name", v.Name) }

// PermissionDef is one entry of "permissions".
type PermissionDef struct {
	User      string `json:"user"`
	Vhost     string `json:"vhost"`
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`
}

func (p *PermissionDef) validate() error {
	return need("user", p.User, "vhost", p.Vhost)
}

// TopicPermissionDef is one entry of "topic_permissions".
type TopicPermissionDef struct {
	User     string `json:"user"`
	Vhost    string `json:"vhost"`
	Exchange string `json:"exchange"`
	Write    string `json:"write"`
	Read     string `json:"read"`
}

func (p *TopicPermissionDef) validate() error {
	return need("user", p.User, "vhost", p.Vhost, "exchange", p.Exchange)
}

// PolicyDef is one entry of "policies" (and "operator_policies").
type PolicyDef struct {
	Vhost      string         `json:"vhost"`
	Name       string         `json:"name"`
	Pattern    string         `json:"pattern"`
	ApplyTo    string         `json:"apply-to"`
	Definition map[string]any `json:"definition"`
	Priority   int            `json:"priority"`
}

func (p *PolicyDef) validate() error {
	return need("vhost", p.Vhost, "name", p.Name)
}

// ParameterDef is one entry of "parameters" (runtime parameters such as
// vhost-limits, federation-upstream, shovel).
type ParameterDef struct {
	Vhost     string          `json:"vhost"`
	Component string          `json:"component"`
	Name      string          `json:"name"`
	Value     json.RawMessage `json:"value"`
}

func (p *ParameterDef) validate() error {
	return need("vhost", p.Vhost, "component", p.Component, "name", p.Name)
}

// GlobalParameterDef is one entry of "global_parameters" (cluster_name, …).
type GlobalParameterDef struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

func (p *GlobalParameterDef) validate() error { return need("name", p.Name) }

// QueueDef is one entry of "queues". Integral argument numbers are int64.
type QueueDef struct {
	Name       string         `json:"name"`
	Vhost      string         `json:"vhost"`
	Type       string         `json:"type,omitempty"`
	Durable    bool           `json:"durable"`
	AutoDelete bool           `json:"auto_delete"`
	Arguments  map[string]any `json:"arguments"`
}

func (q *QueueDef) validate() error {
	q.Arguments = normArgs(q.Arguments)
	return need("name", q.Name, "vhost", q.Vhost)
}

// ExchangeDef is one entry of "exchanges".
type ExchangeDef struct {
	Name       string         `json:"name"`
	Vhost      string         `json:"vhost"`
	Type       string         `json:"type"`
	Durable    bool           `json:"durable"`
	AutoDelete bool           `json:"auto_delete"`
	Internal   bool           `json:"internal"`
	Arguments  map[string]any `json:"arguments"`
}

func (x *ExchangeDef) validate() error {
	x.Arguments = normArgs(x.Arguments)
	return need("name", x.Name, "vhost", x.Vhost, "type", x.Type)
}

// BindingDef is one entry of "bindings". DestinationType is "queue" or "exchange".
type BindingDef struct {
	Source          string         `json:"source"`
	Vhost           string         `json:"vhost"`
	Destination     string         `json:"destination"`
	DestinationType string         `json:"destination_type"`
	RoutingKey      string         `json:"routing_key"`
	Arguments       map[string]any `json:"arguments"`
}

func (b *BindingDef) validate() error {
	b.Arguments = normArgs(b.Arguments)
	if b.DestinationType != "queue" && b.DestinationType != "exchange" {
		return fmt.Errorf("destination_type %q is not queue or exchange", b.DestinationType)
	}
	return need("vhost", b.Vhost, "destination", b.Destination)
}

// need returns an error naming the first empty field of field/value pairs.
func need(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return fmt.Errorf("missing %q", pairs[i])
		}
	}
	return nil
}

// normArgs turns integral float64 values (as JSON decodes them) into int64.
func normArgs(m map[string]any) map[string]any {
	for k, v := range m {
		if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			m[k] = int64(f)
		}
	}
	return m
}

// ParseDefinitions decodes a definitions file. A malformed file returns an
// error wrapping ErrDefinitions that names the key and index, such as
// `users[2]: missing "name"`. Unknown top-level keys are listed in
// UnknownKeys, not rejected.
func ParseDefinitions(data []byte) (*Definitions, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDefinitions, err)
	}
	d := &Definitions{}
	decoders := map[string]func(json.RawMessage) error{
		"rabbit_version":    str(&d.RabbitVersion, "rabbit_version"),
		"rabbitmq_version":  str(&d.RabbitMQVersion, "rabbitmq_version"),
		"product_name":      str(&d.ProductName, "product_name"),
		"product_version":   str(&d.ProductVersion, "product_version"),
		"users":             list(&d.Users, "users"),
		"vhosts":            list(&d.Vhosts, "vhosts"),
		"permissions":       list(&d.Permissions, "permissions"),
		"topic_permissions": list(&d.TopicPermissions, "topic_permissions"),
		"parameters":        list(&d.Parameters, "parameters"),
		"global_parameters": list(&d.GlobalParameters, "global_parameters"),
		"policies":          list(&d.Policies, "policies"),
		"operator_policies": list(&d.OperatorPolicies, "operator_policies"),
		"queues":            list(&d.Queues, "queues"),
		"exchanges":         list(&d.Exchanges, "exchanges"),
		"bindings":          list(&d.Bindings, "bindings"),
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		dec, ok := decoders[k]
		if !ok {
			d.UnknownKeys = append(d.UnknownKeys, k)
			continue
		}
		if err := dec(top[k]); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func str(out *string, key string) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%w: %s: not a string", ErrDefinitions, key)
		}
		return nil
	}
}

// list decodes a JSON list of T, validating each element and naming the
// index of the first bad one.
func list[T any, PT interface {
	*T
	validate() error
}](out *[]T, key string) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return nil
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return fmt.Errorf("%w: %s: not a list", ErrDefinitions, key)
		}
		*out = make([]T, len(items))
		for i, it := range items {
			p := PT(&(*out)[i])
			if err := json.Unmarshal(it, p); err != nil {
				return fmt.Errorf("%w: %s[%d]: %v", ErrDefinitions, key, i, err)
			}
			if err := p.validate(); err != nil {
				return fmt.Errorf("%w: %s[%d]: %v", ErrDefinitions, key, i, err)
			}
		}
		return nil
	}
}
