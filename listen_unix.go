//go:build unix

package mpconn

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"

	"github.com/mpconn/mpconn/internal/platform"
	"golang.org/x/sys/unix"
)

// freshUnixAddress makes a private directory (mode 0700) and returns it
// with a fresh socket path inside. A $TMPDIR too long for sun_path falls
// back to /tmp.
func freshUnixAddress() (dir, path string, err error) {
	var r [6]byte
	rand.Read(r[:])
	name := "listener-" + hex.EncodeToString(r[:])
	for _, root := range []string{os.TempDir(), "/tmp"} {
		d, err := os.MkdirTemp(root, "mpconn-")
		if err != nil {
			continue
		}
		// MkdirTemp's 0700 is filtered by the umask: set it exactly.
		if err := os.Chmod(d, 0o700); err != nil {
			os.RemoveAll(d)
			continue
		}
		p := filepath.Join(d, name)
		if len(p) <= maxUnixPath {
			return d, p, nil
		}
		os.RemoveAll(d)
	}
	return "", "", errors.New("mpconn: no temporary directory short enough for a Unix socket path")
}

// listenSocket creates a listening socket with the given backlog. A Unix
// socket file gets mode 0600 before the socket starts listening, so no
// one else can connect in between; its path is returned for removal.
func listenSocket(network, addr string, backlog int) (net.Listener, string, error) {
	var (
		family int
		sa     unix.Sockaddr
		path   string
	)
	switch network {
	case "unix":
		if err := checkUnixAddress(addr); err != nil {
			return nil, "", err
		}
		family, sa = unix.AF_UNIX, &unix.SockaddrUnix{Name: addr}
		if addr[0] != '@' {
			path = addr
		}
	case "tcp":
		ta, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			return nil, "", err
		}
		if ip4 := ta.IP.To4(); ip4 != nil || ta.IP == nil {
			s := &unix.SockaddrInet4{Port: ta.Port}
			copy(s.Addr[:], ip4)
			family, sa = unix.AF_INET, s
		} else {
			s := &unix.SockaddrInet6{Port: ta.Port}
			copy(s.Addr[:], ta.IP.To16())
			if ta.Zone != "" {
				if ifi, err := net.InterfaceByName(ta.Zone); err == nil {
					s.ZoneId = uint32(ifi.Index)
				}
			}
			family, sa = unix.AF_INET6, s
		}
	default:
		return nil, "", errors.New("unsupported network " + network)
	}
	fd, err := platform.Socket(family, unix.SOCK_STREAM, 0)
	if err != nil {
		return nil, "", err
	}
	fail := func(op string, err error) (net.Listener, string, error) {
		unix.Close(fd)
		return nil, "", os.NewSyscallError(op, err)
	}
	if family != unix.AF_UNIX {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fail("setsockopt", err)
		}
	}
	if path != "" {
		// On Linux bind creates the file with the socket's own mode
		// (less the umask): set it first, so that the file never exists
		// with a wider one. Elsewhere this is harmless and setSocketMode
		// does the work.
		unix.Fchmod(fd, 0o600)
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if path != "" {
		if err := setSocketMode(path); err != nil {
			os.Remove(path)
			return fail("chmod", err)
		}
	}
	if err := unix.Listen(fd, backlog); err != nil {
		if path != "" {
			os.Remove(path)
		}
		return fail("listen", err)
	}
	f := os.NewFile(uintptr(fd), "listener")
	nl, err := net.FileListener(f)
	f.Close()
	if err != nil {
		if path != "" {
			os.Remove(path)
		}
		return nil, "", err
	}
	return nl, path, nil
}

// setSocketMode makes the socket file at path mode 0600 without following
// a symbolic link: in a directory others can write, the file may have been
// replaced by a link to some file of ours between bind and this call. It
// does nothing when the file already has the mode (on Linux, bind gives
// it the socket's, set beforehand).
func setSocketMode(path string) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return errors.New("mpconn: " + path + " is no longer the socket just bound")
	}
	if st.Mode&0o7777 == 0o600 {
		return nil
	}
	err := unix.Fchmodat(unix.AT_FDCWD, path, 0o600, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EINVAL) {
		err = chmodNoFollow(path, 0o600)
	}
	return err
}
