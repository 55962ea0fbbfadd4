//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package poller

func kernelBackends() []Backend { return []Backend{{"kqueue", NewKqueue}} }
