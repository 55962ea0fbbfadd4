//go:build race

package mpconn

// raceEnabled: the tests run under the race detector.
const raceEnabled = true
