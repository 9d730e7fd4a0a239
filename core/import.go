package core

import (
	"fmt"

	"github.com/junctionmq/junction/core/auth"
	"github.com/junctionmq/junction/core/message"
	"github.com/junctionmq/junction/core/route"
)

// ImportDefinitions loads a RabbitMQ definitions file (rabbitmqctl
// export_definitions, GET /api/definitions) as RabbitMQ's load_definitions
// does: users, vhosts, permissions and policies through the user store,
// then exchanges, queues and bindings. Nothing is deleted; existing objects
// must be equivalent. What Junction does not support is returned in
// skipped, not failed on.
func (b *Broker) ImportDefinitions(d *auth.Definitions) (skipped []string, err error) {
	skipped, err = b.users.ImportDefinitions(d)
	if err != nil {
		return skipped, err
	}
	for _, vh := range b.users.Vhosts() {
		v, err := b.AddVhost(vh.Name)
		if err != nil {
			return skipped, err
		}
		v.ApplyPolicies() // imported policies apply to what exists already
	}
	for i, x := range d.Exchanges {
		if err := b.importExchange(x); err != nil {
			return skipped, fmt.Errorf("exchanges[%d] %q: %w", i, x.Name, err)
		}
	}
	for i, q := range d.Queues {
		if err := b.importQueue(q); err != nil {
			return skipped, fmt.Errorf("queues[%d] %q: %w", i, q.Name, err)
		}
	}
	for i, bd := range d.Bindings {
		if err := b.importBinding(bd); err != nil {
			return skipped, fmt.Errorf("bindings[%d] %q → %q: %w", i, bd.Source, bd.Destination, err)
		}
	}
	return skipped, nil
}

func (b *Broker) importExchange(x auth.ExchangeDef) error {
	v, err := b.Vhost(x.Vhost)
	if err != nil {
		return err
	}
	kind, err := route.ParseKind(x.Type)
	if err != nil {
		return err
	}
	if len(x.Name) > 4 && x.Name[:4] == "amq." {
		return nil // predeclared
	}
	return v.DeclareExchange(route.Exchange{Name: x.Name, Kind: kind, Durable: x.Durable,
		AutoDelete: x.AutoDelete, Internal: x.Internal, Args: message.TableFromJSON(x.Arguments)}, false)
}

func (b *Broker) importQueue(q auth.QueueDef) error {
	v, err := b.Vhost(q.Vhost)
	if err != nil {
		return err
	}
	args := message.TableFromJSON(q.Arguments)
	if q.Type != "" && q.Type != "classic" {
		if _, ok := args.Get("x-queue-type"); !ok {
			args = append(args, message.Field{Key: "x-queue-type", Value: q.Type})
		}
	}
	if t, _ := args.Get("x-queue-type"); t == "stream" {
		_, _, err := v.DeclareStream(q.Name, 0, 0)
		return err
	}
	_, _, err = v.DeclareQueue(QueueDecl{Name: q.Name, Durable: q.Durable, AutoDelete: q.AutoDelete, Args: args})
	return err
}

func (b *Broker) importBinding(bd auth.BindingDef) error {
	v, err := b.Vhost(bd.Vhost)
	if err != nil {
		return err
	}
	dest := route.Dest{Kind: route.DestQueue, Name: bd.Destination}
	switch {
	case bd.DestinationType == "exchange":
		dest.Kind = route.DestExchange
	default:
		if _, err := v.Stream(bd.Destination); err == nil {
			dest.Kind = route.DestStream
		}
	}
	return v.Bind(route.Binding{Source: bd.Source, Dest: dest, Key: bd.RoutingKey, Args: message.TableFromJSON(bd.Arguments)})
}
