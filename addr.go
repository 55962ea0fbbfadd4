package mpconn

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ParseAddress infers the network of an address the way CPython's
// multiprocessing.connection does, written as a string:
//
//	"host:port", "[::1]:port"     TCP ("localhost:0" picks a free port)
//	"/path", "./rel", "dir/sock"  a Unix socket path
//	"sock"                        a Unix socket path (no port, no slash)
//	"@name", "\x00name"           a Linux abstract Unix socket
//	"tcp://host:port", "unix://path"  an explicit network
//
// It returns the network ("tcp" or "unix") and the address in the form the
// net package takes (abstract names as "@name"). Windows named pipes
// ("\\.\pipe\name") are not supported on this platform.
func ParseAddress(address string) (network, addr string, err error) {
	switch {
	case address == "":
		return "", "", errors.New("mpconn: empty address")
	case strings.HasPrefix(address, "tcp://"):
		return "tcp", strings.TrimPrefix(address, "tcp://"), nil
	case strings.HasPrefix(address, "unix://"):
		if address == "unix://" {
			return "", "", fmt.Errorf("mpconn: address %q: no socket path", address)
		}
		return "unix", strings.TrimPrefix(address, "unix://"), nil
	case strings.HasPrefix(address, `\\`):
		if pipeNetwork == "" {
			return "", "", fmt.Errorf("mpconn: address %q: Windows named pipes are not supported on this platform", address)
		}
		return pipeNetwork, address, nil
	case address[0] == 0:
		return "unix", "@" + address[1:], nil
	case address[0] == '@':
		return "unix", address, nil
	case strings.ContainsRune(address, '/'):
		return "unix", address, nil
	}
	if _, port, err := net.SplitHostPort(address); err == nil {
		if _, err := strconv.ParseUint(port, 10, 16); err == nil {
			return "tcp", address, nil
		}
		return "", "", fmt.Errorf("mpconn: address %q: bad port %q", address, port)
	}
	return "unix", address, nil
}

// addrName is an address as the caller gave it, for error messages about
// an address that could not be bound, such as "listen tcp 127.0.0.1:80:
// bind: permission denied".
type addrName struct{ network, addr string }

func (a addrName) Network() string { return a.network }
func (a addrName) String() string  { return a.addr }
