package shm

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// childMain, when a platform's tests set it, runs instead of the tests in
// a test binary started as a child process (SHM_TEST_CHILD=1).
var childMain func() int

func TestMain(m *testing.M) {
	if os.Getenv("SHM_TEST_CHILD") == "1" && childMain != nil {
		os.Exit(childMain())
	}
	goleak.VerifyTestMain(m)
}
