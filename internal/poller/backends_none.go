//go:build !linux && !(darwin || dragonfly || freebsd || netbsd || openbsd)

package poller

func kernelBackends() []Backend { return nil }
