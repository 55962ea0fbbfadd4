//go:build linux

package poller

func kernelBackends() []Backend { return []Backend{{Name: "epoll", New: NewEpoll, Exact: true}} }
