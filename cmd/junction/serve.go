package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/junctionmq/junction/config"
)

// shutdownTimeout bounds a graceful shutdown after SIGINT or SIGTERM.
const shutdownTimeout = 30 * time.Second

// serve runs the broker until SIGINT or SIGTERM (or ctx ends), then shuts
// it down gracefully. Everything that can fail for a reason the operator
// can fix (data dir, certificates, ports) is checked before anything
// starts, so a failed start leaves nothing running.
func serve(ctx context.Context, cfg *config.Config, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	slog.SetDefault(log)
	if err := checkDataDir(cfg.DataDir); err != nil {
		return err
	}
	plan, err := cfg.Listeners()
	if err != nil {
		return err
	}
	listeners, err := bindAll(plan)
	if err != nil {
		return err
	}
	for _, l := range plan {
		log.Info("listening", "listener", l.Name, "addr", listeners[l.Name].Addr().String(), "tls", l.TLS != nil)
	}

	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigc)

	// runCtx lives as long as the broker runs: cancelled after stop.
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	stop, err := startBroker(runCtx, cfg, listeners)
	if err != nil {
		closeAll(listeners)
		return err
	}
	if cfg.PprofListen != "" {
		startPprof(cfg.PprofListen, log)
	}
	log.Info("junction started", "version", version, "data_dir", cfg.DataDir)

	select {
	case sig := <-sigc:
		log.Info("shutting down", "signal", sig.String())
	case <-ctx.Done():
		log.Info("shutting down", "reason", context.Cause(ctx))
	}
	go func() {
		sig := <-sigc
		// Badger's files survive an abrupt exit; recovery replays its log.
		fmt.Fprintf(stderr, "junction: second %s, exiting now\n", sig)
		os.Exit(1)
	}()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := stop(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("junction stopped")
	return nil
}

// newLogger returns a slog.Logger writing cfg.LogFormat at cfg.LogLevel.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// checkDataDir creates dir if needed and proves it writable by creating
// and removing a file in it.
func checkDataDir(dir string) error {
	if dir == "" {
		return errors.New("data-dir is empty")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("data-dir %s: cannot create: %w", dir, unwrapPath(err))
	}
	f, err := os.CreateTemp(dir, ".junction-write-check-*")
	if err != nil {
		return fmt.Errorf("data-dir %s: not writable: %w", dir, unwrapPath(err))
	}
	name := f.Name()
	err = f.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("data-dir %s: not writable: %w", dir, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops the *PathError wrapper, whose path the caller already
// names: "permission denied" rather than "mkdir /x: permission denied".
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// bindAll listens on every planned address, wrapping TLS listeners, and
// returns them by listener name. On the first failure it closes those
// already bound and returns one line naming the setting and address.
func bindAll(plan []config.Listener) (map[string]net.Listener, error) {
	out := make(map[string]net.Listener, len(plan))
	for _, l := range plan {
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("%s %s: %w", l.Setting, l.Addr, listenCause(err))
		}
		if l.TLS != nil {
			ln = tls.NewListener(ln, l.TLS)
		}
		out[l.Name] = ln
	}
	return out, nil
}

// listenCause reduces "listen tcp :5672: bind: address already in use" to
// "address already in use".
func listenCause(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		var se *os.SyscallError
		if errors.As(oe.Err, &se) {
			return se.Err
		}
		return oe.Err
	}
	return err
}

// closeAll closes every listener in m.
func closeAll(m map[string]net.Listener) {
	for _, ln := range m {
		_ = ln.Close()
	}
}

// startPprof serves Go's profiler on addr (pprof-listen), for profiling
// the broker under load: go tool pprof http://ADDR/debug/pprof/profile.
func startPprof(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil {
			log.Warn("pprof listener stopped", "addr", addr, "err", err)
		}
	}()
}
