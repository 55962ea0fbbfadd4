// Package platform is the seam between mpconn's portable code and the
// operating system: the few system calls whose form differs from one
// system to another, each behind one function with the same signature
// everywhere.
//
// Files are named by capability, as in Go's net package, not by system:
// sock_cloexec.go serves the systems that create sockets and pipes
// close-on-exec in one call (SOCK_CLOEXEC, pipe2), sys_cloexec.go those
// that need syscall.ForkLock and a second call (macOS); cmsg_cloexec.go
// the systems whose recvmsg marks received descriptors close-on-exec
// (MSG_CMSG_CLOEXEC), cmsg_nocloexec.go the others. A system without a
// capability gets a function that returns an error wrapping
// errors.ErrUnsupported, never a build failure or a panic.
package platform
