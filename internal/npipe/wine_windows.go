package npipe

import (
	"errors"
	"sync"

	"golang.org/x/sys/windows"
)

// Wine 8's client hands the data of a WriteFile to the wineserver in one
// write(2) together with the request's header; Linux writes at most
// 0x7ffff000 bytes at once, and Wine takes the partial write as fatal
// (the writing thread dies, the write never completes). So under Wine a
// pipe message of that size or more cannot be sent: sends refuse it with
// errWineTooBig instead of hanging. Windows itself carries up to
// MaxMessage.
const wineMaxWrite = 0x7ffff000

var errWineTooBig = errors.New("npipe: under Wine a pipe message must be shorter than 0x7ffff000 bytes (Wine writes it to its server in one write(2), which Linux caps)")

var onWine = sync.OnceValue(func() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
})

// checkSize returns the error of a send of an n-byte message that cannot
// be carried, or nil.
func checkSize(n int) error {
	if uint64(n) > MaxMessage {
		return ErrMessageTooBig
	}
	if n >= wineMaxWrite-4096 && onWine() {
		// (The request header rides along: a margin below the cap.)
		return errWineTooBig
	}
	return nil
}
