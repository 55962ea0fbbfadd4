//go:build unix

package mpconn

import "golang.org/x/sys/unix"

// maxUnixPath is the longest socket path that fits in sun_path with its
// terminating NUL: 103 bytes on macOS and the BSDs, 107 on Linux.
const maxUnixPath = len(unix.RawSockaddrUnix{}.Path) - 1
