//go:build !linux

package platform

import "runtime"

// Yield gives the processor to another goroutine. Only Linux has a
// sched_yield that Go code may call directly; elsewhere the Go
// scheduler's yield is what there is.
func Yield() { runtime.Gosched() }
