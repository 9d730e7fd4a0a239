package core

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/queue"
	"github.com/junctionmq/junction/core/route"
	"github.com/junctionmq/junction/core/stream"
)

// Definition records in the store, one kind per object; keys start with the
// vhost and a NUL so one vhost's records sort together.
const (
	kindExchange = "exchange"
	kindQueue    = "queue"
	kindBinding  = "binding"
)

func queueKey(vhost, name string) string { return vhost + "\x00" + name }

// exchangeDef, queueDef and bindingDef are the persisted shapes. Argument
// tables keep every AMQP field type: they are stored in the message
// encoding (as a message's headers), base64 inside the JSON.
type exchangeDef struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Durable    bool   `json:"durable"`
	AutoDelete bool   `json:"auto_delete"`
	Internal   bool   `json:"internal"`
	Args       []byte `json:"args,omitempty"`
}

type queueDef struct {
	Name       string        `json:"name"`
	AutoDelete bool          `json:"auto_delete"`
	Args       []byte        `json:"args,omitempty"`
	Options    queue.Options `json:"options"`
}

type bindingDef struct {
	Source   string         `json:"source"`
	DestKind route.DestKind `json:"dest_kind"`
	Dest     string         `json:"dest"`
	Key      string         `json:"key"`
	Args     []byte         `json:"args,omitempty"`
}

func encodeTable(t message.Table) []byte {
	if len(t) == 0 {
		return nil
	}
	return message.Marshal(nil, &message.Message{Props: message.Properties{Flags: message.FlagHeaders, Headers: t}})
}

func decodeTable(b []byte) (message.Table, error) {
	if len(b) == 0 {
		return nil, nil
	}
	m, err := message.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	return m.Props.Headers, nil
}

// cutKey splits a definition key into its vhost and name.
func cutKey(key string) (vhost, name string, ok bool) { return strings.Cut(key, "\x00") }

func bindingKey(b route.Binding) string {
	h := sha256.Sum256(encodeTable(b.Args))
	return strings.Join([]string{b.Source, b.Dest.Kind.String(), b.Dest.Name, b.Key, hex.EncodeToString(h[:8])}, "\x00")
}

func (v *Vhost) putDef(kind, key string, val any) error {
	data, err := json.Marshal(val)
	if err != nil {
		return errorf(ErrStore, "encode %s %q: %v", kind, key, err)
	}
	if err := v.b.st.PutDef(kind, queueKey(v.name, key), data); err != nil {
		return &Error{Kind: ErrStore, Text: fmt.Sprintf("store %s '%s': %v", kind, key, err), Err: err}
	}
	return nil
}

func (v *Vhost) deleteDef(kind, key string) {
	if err := v.b.st.DeleteDef(kind, queueKey(v.name, key)); err != nil {
		v.b.log.Warn("definition delete failed", "kind", kind, "vhost", v.name, "key", key, "err", err)
	}
}

func (v *Vhost) saveExchange(x route.Exchange) error {
	return v.putDef(kindExchange, x.Name, exchangeDef{Name: x.Name, Type: x.Kind.String(),
		Durable: x.Durable, AutoDelete: x.AutoDelete, Internal: x.Internal, Args: encodeTable(x.Args)})
}

func (v *Vhost) saveQueue(cfg queue.Config, args message.Table) error {
	return v.putDef(kindQueue, cfg.Name, queueDef{Name: cfg.Name, AutoDelete: cfg.AutoDelete,
		Args: encodeTable(args), Options: cfg.Options})
}

func (v *Vhost) saveBinding(b route.Binding) error {
	return v.putDef(kindBinding, bindingKey(b), bindingDef{Source: b.Source, DestKind: b.Dest.Kind,
		Dest: b.Dest.Name, Key: b.Key, Args: encodeTable(b.Args)})
}

// recover loads every vhost's definitions and queue contents: exchanges
// first, then queues (with their messages), then bindings.
func (b *Broker) recover() error {
	steps := []struct {
		kind string
		load func(v *Vhost, data []byte) error
	}{
		{kindExchange, (*Vhost).loadExchange},
		{kindQueue, (*Vhost).loadQueue},
		{kindStream, (*Vhost).loadStream},
		{stream.DefKind, (*Vhost).loadPartitioned},
		{kindBinding, (*Vhost).loadBinding},
	}
	for _, s := range steps {
		err := b.st.Defs(s.kind, func(key string, data []byte) error {
			vhost, _, ok := cutKey(key)
			if !ok {
				return fmt.Errorf("bad %s key %q", s.kind, key)
			}
			v := b.vhosts[vhost]
			if v == nil {
				b.log.Warn("definition of an unknown vhost skipped", "kind", s.kind, "vhost", vhost)
				return nil
			}
			if err := s.load(v, data); err != nil {
				return fmt.Errorf("%s %q in vhost %q: %w", s.kind, key[len(vhost)+1:], vhost, err)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("core: recover: %w", err)
		}
	}
	return nil
}

func (v *Vhost) loadExchange(data []byte) error {
	var d exchangeDef
	if err := json.Unmarshal(data, &d); err != nil {
		return err
	}
	kind, err := route.ParseKind(d.Type)
	if err != nil {
		return err
	}
	args, err := decodeTable(d.Args)
	if err != nil {
		return err
	}
	_, err = v.routes.Declare(route.Exchange{Name: d.Name, Kind: kind, Durable: d.Durable,
		AutoDelete: d.AutoDelete, Internal: d.Internal, Args: args})
	return err
}

func (v *Vhost) loadQueue(data []byte) error {
	var d queueDef
	if err := json.Unmarshal(data, &d); err != nil {
		return err
	}
	args, err := decodeTable(d.Args)
	if err != nil {
		return err
	}
	declared, err := queue.ParseQueueArgs(v.name, d.Name, args)
	if err != nil {
		return err
	}
	parsed, err := queue.ParseQueueArgs(v.name, d.Name, v.effectiveQueueArgs(d.Name, args, declared.Type))
	if err != nil {
		return err
	}
	q := v.newQueue(queue.Config{Name: d.Name, Vhost: v.name, Key: queueKey(v.name, d.Name),
		Durable: true, AutoDelete: d.AutoDelete, Args: parsed, Options: d.Options})
	if _, err := q.Recover(); err != nil {
		return err
	}
	v.mu.Lock()
	v.queues[d.Name] = q
	v.declared[d.Name] = declaration{declared, args}
	v.mu.Unlock()
	v.routes.AddDest(route.Dest{Kind: route.DestQueue, Name: d.Name})
	return nil
}

func (v *Vhost) loadBinding(data []byte) error {
	var d bindingDef
	if err := json.Unmarshal(data, &d); err != nil {
		return err
	}
	args, err := decodeTable(d.Args)
	if err != nil {
		return err
	}
	_, err = v.routes.Bind(route.Binding{Source: d.Source, Dest: route.Dest{Kind: d.DestKind, Name: d.Dest},
		Key: d.Key, Args: args})
	return err
}
