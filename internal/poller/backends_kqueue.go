//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package poller

func kernelBackends() []Backend { return []Backend{{Name: "kqueue", New: NewKqueue, Exact: true}} }
