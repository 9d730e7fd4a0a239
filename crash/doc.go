// Package crash holds the crash suite (crash_test.go files): it runs the
// junction binary, publishes and consumes through every face, kills the
// broker with SIGKILL at random moments (every fourth restart is instead
// a graceful SIGTERM under the same load, which must finish on its own),
// restarts it on the same data directory and checks that nothing
// confirmed was lost. `make crash` runs it with 50 restarts; `go test
// ./crash/` with 4.
package crash
