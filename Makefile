# Junction: the one entry point for building, running and testing.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
SPEC ?= ../shared/spec/amqp091/amqp-rabbitmq-0.9.1.json
FUZZTIME ?= 10s
GO ?= go

.PHONY: build run test lint generate fuzz bench bench-compare conformance

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/junction ./cmd/junction

run: build
	./bin/junction serve

test:
	$(GO) test -race -timeout 15m ./...

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

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./core/... ./persist/... ./protocol/...

conformance:
	$(GO) test -race -count=1 -v -timeout 30m ./conformance/...
