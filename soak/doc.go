// Package soak holds `make soak`: the junction binary under steady mixed
// load on every face for a bounded time (SOAK_DURATION, 10 minutes by
// default), with consumers that come and go and connections that drop,
// then checks that every confirmed message was delivered, that the
// broker's RSS and goroutines are back within 10% of their level after
// warm-up and that its log has no ERROR line. The test runs only when
// JUNCTION_SOAK is set, so `go test ./...` skips it.
package soak
