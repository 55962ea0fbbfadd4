package npipe

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// dispatch serves the completion port for the life of the process.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/mpconn/mpconn/internal/npipe.dispatch"))
}
