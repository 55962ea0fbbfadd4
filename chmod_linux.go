package mpconn

import (
	"errors"
	"strconv"

	"golang.org/x/sys/unix"
)

// chmodNoFollow sets the mode of the socket file at path, not following a
// symbolic link (Linux's fchmodat has no AT_SYMLINK_NOFOLLOW before 6.6):
// the file is opened as a path (O_PATH|O_NOFOLLOW), checked to be a
// socket, and changed through its /proc/self/fd entry.
func chmodNoFollow(path string, mode uint32) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return errors.New("mpconn: " + path + " is no longer the socket just bound")
	}
	return unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), mode)
}
