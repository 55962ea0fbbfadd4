//go:build linux

package poller

func kernelBackends() []Backend { return []Backend{{"epoll", NewEpoll}} }
