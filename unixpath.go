package mpconn

import (
	"fmt"
	"runtime"
)

// checkUnixAddress returns an error for a Unix socket address this system
// cannot use: an abstract name ("@name") anywhere but Linux, and a path
// longer than sun_path holds (104 bytes with its terminating NUL on macOS
// and the BSDs, 108 on Linux), which the kernel would otherwise refuse
// with a bare EINVAL, or silently cut short.
func checkUnixAddress(addr string) error {
	if len(addr) > 0 && addr[0] == '@' && !abstractSockets {
		return unsupported(fmt.Sprintf("abstract Unix socket %q (a Linux feature)", addr))
	}
	if len(addr) > maxUnixPath {
		return fmt.Errorf("mpconn: Unix socket path of %d bytes is too long: %s allows %d (sun_path is %d bytes with its NUL): %s",
			len(addr), runtime.GOOS, maxUnixPath, maxUnixPath+1, addr)
	}
	return nil
}
