package mpconn

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	goleak.VerifyTestMain(m)
}

// childEnv names the child body a re-executed test binary runs (see
// testChildren); tests start children with helperCommand.
const childEnv = "MPCONN_TEST_CHILD"

// testChildren are the bodies a re-executed test binary can run as a child
// process. Each returns the exit code.
var testChildren = map[string]func() int{}

func runChild() int {
	fn, ok := testChildren[os.Getenv(childEnv)]
	if !ok {
		return 97
	}
	return fn()
}
