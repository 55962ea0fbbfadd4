package platform

import "syscall"

// Yield gives the CPU to another thread or process that is ready to run
// (sched_yield): a peer process sharing the CPU gets to run.
func Yield() {
	syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
}
