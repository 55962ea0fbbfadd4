//go:build !unix

package bench

import (
	"errors"
	"fmt"
	"runtime"
)

// blockFD, the blocking-descriptor experiment, needs Unix descriptors.
type blockFD int

var errNoBlockFD = fmt.Errorf("the rawblock experiment on %s: %w", runtime.GOOS, errors.ErrUnsupported)

func openBlockFD(int) (blockFD, error)    { return -1, errNoBlockFD }
func (blockFD) Read([]byte) (int, error)  { return 0, errNoBlockFD }
func (blockFD) Write([]byte) (int, error) { return 0, errNoBlockFD }
func (blockFD) Close() error              { return errNoBlockFD }
