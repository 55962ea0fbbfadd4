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
	// On Windows the named pipes' completion port is served by one
	// goroutine for the life of the process (internal/npipe).
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/mpconn/mpconn/internal/npipe.dispatch"))
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
