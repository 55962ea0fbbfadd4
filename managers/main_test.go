package managers

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// On Windows, named pipes complete their I/O through one goroutine
	// that lives as long as the process.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/mpconn/mpconn/internal/npipe.dispatch"))
}
