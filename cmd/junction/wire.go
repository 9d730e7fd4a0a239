package main

import (
	"context"
	"net"

	"github.com/junctionmq/junction/config"
)

// startBroker opens the broker and starts a service on each listener,
// keyed by listener name (config.AMQP, config.MQTT, ...). The listeners
// are bound already; TLS listeners are wrapped in TLS. It returns stop,
// which shuts everything down within ctx's deadline and closes every
// listener.
//
// This is where core.Open and the faces are wired in: build a services
// map (for example services{config.AMQP: amqpServer}) and pass it to
// startServices. A listener without a service is held open and closed on
// stop.
func startBroker(ctx context.Context, cfg *config.Config, listeners map[string]net.Listener) (stop func(ctx context.Context) error, err error) {
	_ = cfg
	return startServices(ctx, services{}, listeners), nil
}
