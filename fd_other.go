//go:build !unix

package mpconn

import "os"

// Descriptors by number are a Unix notion; nothing reaches these on other
// systems, whose pipe calls fail first.

func setBlocking(*os.File) error { return unsupported("blocking descriptors") }

func closeFD(int) {}
