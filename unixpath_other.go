//go:build !unix

package mpconn

// maxUnixPath is the longest socket path that fits in sun_path with its
// terminating NUL (Windows' AF_UNIX has a 108-byte sun_path).
const maxUnixPath = 107
