//go:build !race

package amqp_test

// raceEnabled: the race detector inflates memory, so size checks relax.
const raceEnabled = false
