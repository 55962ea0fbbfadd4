package npipe

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"
)

// Prefix is how every local pipe address starts.
const Prefix = `\\.\pipe\`

// IsAddress reports whether addr names a named pipe: like CPython's
// address_type, any address that starts with two backslashes.
func IsAddress(addr string) bool { return strings.HasPrefix(addr, `\\`) }

var nameCounter atomic.Uint64

// UniqueName returns a fresh local pipe address,
// `\\.\pipe\mpconn-PID-N-RANDOM`: the process id, a counter and 64 random
// bits, as CPython's arbitrary_address builds `\\.\pipe\pyc-PID-N-RANDOM`.
// The random part keeps another process from predicting the name.
func UniqueName(pid int) string {
	var r [8]byte
	rand.Read(r[:]) // never fails (crypto/rand)
	return fmt.Sprintf(`%smpconn-%d-%d-%s`, Prefix, pid, nameCounter.Add(1), hex.EncodeToString(r[:]))
}

// Addr is a pipe address as a net.Addr; its network is "pipe".
type Addr string

// Network returns "pipe".
func (Addr) Network() string { return "pipe" }

func (a Addr) String() string { return string(a) }
