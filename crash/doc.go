// Package crash holds the crash suite (crash_test.go files): it runs the
// junction binary, publishes and consumes through every face, kills the
// broker with SIGKILL at random moments, restarts it on the same data
// directory and checks that nothing confirmed was lost. `make crash` runs
// it with 50 kills; `go test ./crash/` with 3.
package crash
