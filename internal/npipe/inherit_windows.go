package npipe

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// InheritableHandle returns a duplicate of the pipe handle that child
// processes can inherit, for handing this end to a child (for example
// through syscall.SysProcAttr.AdditionalInheritedHandles). The caller
// closes the duplicate once the child has started, and usually closes the
// Conn too, so that the child alone holds this end. The child takes the
// handle over with [NewConn]; a Python child with
// multiprocessing.connection.PipeConnection(handle).
func (c *Conn) InheritableHandle() (windows.Handle, error) {
	if err := c.fd.acquire(); err != nil {
		return 0, err
	}
	defer c.fd.release()
	p := windows.CurrentProcess()
	var dup windows.Handle
	if err := windows.DuplicateHandle(p, c.fd.h, p, &dup, 0, true, windows.DUPLICATE_SAME_ACCESS); err != nil {
		return 0, fmt.Errorf("npipe: DuplicateHandle: %w", err)
	}
	return dup, nil
}
