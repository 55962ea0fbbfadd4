package npipe

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Options configures the pipes [Listen] and [Pipe] create. The zero value
// (or nil) gives the defaults: only the current user may open the pipe,
// and remote clients are refused.
type Options struct {
	// DefaultSecurity creates the pipe with the default security
	// descriptor, as CPython does: besides the current user, LocalSystem
	// and the Administrators have full access, and Everyone and the
	// anonymous account may open it for reading (enough to connect to a
	// duplex pipe, which is how another user's process could reach the
	// authentication handshake). The default grants access to the
	// current user alone.
	DefaultSecurity bool

	// AllowRemote accepts clients on other machines (through SMB), as
	// CPython does. The default passes PIPE_REJECT_REMOTE_CLIENTS.
	AllowRemote bool

	// BufferSize is the size of the pipe's input and output buffers, a
	// hint to the system. Zero means 8192, as in CPython (3.8 to 3.13).
	BufferSize uint32
}

func (o *Options) bufferSize() uint32 {
	if o == nil || o.BufferSize == 0 {
		return 8192
	}
	return o.BufferSize
}

func (o *Options) pipeMode() uint32 {
	mode := uint32(windows.PIPE_TYPE_MESSAGE | windows.PIPE_READMODE_MESSAGE | windows.PIPE_WAIT)
	if o == nil || !o.AllowRemote {
		mode |= pipeRejectRemoteClients
	}
	return mode
}

// securityAttributes returns the security attributes to create pipes
// with: nil for the default descriptor, or one whose DACL grants the
// current user, and no one else, full access. The handles are not
// inheritable either way.
func (o *Options) securityAttributes() (*windows.SecurityAttributes, error) {
	if o != nil && o.DefaultSecurity {
		return nil, nil
	}
	return currentUserOnly()
}

// currentUserOnly builds security attributes whose DACL, protected from
// inherited entries, allows GENERIC_ALL to the user of the process token.
func currentUserOnly() (*windows.SecurityAttributes, error) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("npipe: reading the current user: %w", err)
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;;GA;;;" + tu.User.Sid.String() + ")")
	if err != nil {
		return nil, fmt.Errorf("npipe: building the security descriptor: %w", err)
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	return sa, nil
}
