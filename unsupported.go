package mpconn

import (
	"errors"
	"fmt"
	"runtime"
)

// unsupported returns the error of a feature this system lacks: it names
// the feature and the system, and wraps errors.ErrUnsupported.
func unsupported(what string) error {
	return fmt.Errorf("mpconn: %s on %s: %w", what, runtime.GOOS, errors.ErrUnsupported)
}
