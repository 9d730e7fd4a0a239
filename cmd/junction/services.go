package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
)

// service is what a face offers the command: serve connections accepted
// from a listener until Shutdown, which stops accepting, closes the
// listener, ends open connections gracefully and returns when done or when
// ctx ends. An *http.Server satisfies it.
type service interface {
	Serve(ln net.Listener) error
	Shutdown(ctx context.Context) error
}

// services maps a listener name (config.AMQP, ...) to its service.
type services map[string]service

// startServices runs each service on the listener of the same name, one
// goroutine per service, and returns the stop function: it shuts every
// service down in parallel, closes all listeners, waits for the Serve
// goroutines and returns the first error.
func startServices(ctx context.Context, svcs services, listeners map[string]net.Listener) func(context.Context) error {
	log := slog.Default()
	var wg sync.WaitGroup
	for name, svc := range svcs {
		ln, ok := listeners[name]
		if !ok {
			continue // listener disabled by configuration
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := svc.Serve(ln); err != nil && !isClosed(err) {
				log.ErrorContext(ctx, "service stopped", "listener", name, "err", err)
			}
		}()
	}
	return func(ctx context.Context) error {
		errs := make(chan error, len(svcs))
		var sw sync.WaitGroup
		for name, svc := range svcs {
			if _, ok := listeners[name]; !ok {
				continue
			}
			sw.Add(1)
			go func() {
				defer sw.Done()
				errs <- svc.Shutdown(ctx)
			}()
		}
		sw.Wait()
		closeAll(listeners)
		close(errs)
		var first error
		for err := range errs {
			if err != nil && first == nil {
				first = err
			}
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			if first == nil {
				first = ctx.Err()
			}
		}
		return first
	}
}

// isClosed reports the error Serve returns after Shutdown or Close.
func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed)
}
