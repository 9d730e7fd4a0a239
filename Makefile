# Junction: the one entry point for building, running and testing.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
SPEC ?= ../shared/spec/amqp091/amqp-rabbitmq-0.9.1.json
FUZZTIME ?= 10s
GO ?= go

.PHONY: build run test test-mochi lint generate fuzz bench bench-micro conformance crash soak

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/junction ./cmd/junction

run: build
	./bin/junction serve

test:
	$(GO) test -race -timeout 15m ./...

# mochi-mqtt's own tests, for the patched copy in third_party/mochi-mqtt
# (a module of its own, so `./...` does not reach it).
test-mochi:
	$(GO) test -race -count=1 github.com/mochi-mqtt/server/v2/...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

generate:
	$(GO) run ./protocol/amqp091/gen -spec $(SPEC) -out protocol/amqp091/methods.go

# Runs every fuzz target for FUZZTIME each (the seed corpora also run in `make test`).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# The benchmark: Go micro-benchmarks of the hot path (allocations per
# message), then Junction side by side with the incumbents on this machine
# in one run (bench-compare, from bench/Makefile.inc: RabbitMQ, Mosquitto,
# goaws, kinesalite; BENCH_SCENARIOS picks scenarios).
bench: bench-micro bench-compare

bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem ./core/... ./persist/... ./protocol/...

conformance:
	$(GO) test -race -count=1 -v -timeout 30m ./conformance/...

# The crash suite: every face under load while the broker is killed with
# SIGKILL JUNCTION_CRASHES times and restarted on the same data directory;
# one line per face (confirmed, crashes, lost, duplicated). `go test ./...`
# runs it with 4 restarts (the fourth a graceful SIGTERM under load).
JUNCTION_CRASHES ?= 50
crash: build
	JUNCTION_CRASHES=$(JUNCTION_CRASHES) JUNCTION_BIN=$(CURDIR)/bin/junction \
	  $(GO) test -count=1 -v -timeout 30m -run '^TestCrashSuite$$' ./crash/

# The soak run: every face under steady mixed load for SOAK_DURATION, with
# consumers that come and go and connections that drop; then every
# confirmed message accounted for, RSS and goroutines back within 10% of
# their level after warm-up, no ERROR in the log. SOAK_SCALE scales the
# load. `go test ./...` skips it (it needs JUNCTION_SOAK).
SOAK_DURATION ?= 10m
soak: build
	JUNCTION_SOAK=1 SOAK_DURATION=$(SOAK_DURATION) JUNCTION_BIN=$(CURDIR)/bin/junction \
	  $(GO) test -count=1 -v -timeout 60m -run '^TestSoak$$' ./soak/

include bench/Makefile.inc
