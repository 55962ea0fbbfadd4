package mpconn

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
)

var authKey struct {
	sync.Mutex
	key []byte // nil until first use
}

// AuthKey returns this process's default authentication key, as CPython's
// multiprocessing.current_process().authkey: the key the parent handed
// down in MPCONN_AUTHKEY when this process was started by [StartChild],
// otherwise 32 random bytes chosen on first use. [StartChild] passes it on
// to children unless told otherwise. The result is a copy.
//
// Listen and Dial do not use it by themselves: pass it as
// [ListenOptions.AuthKey] or [DialOptions.AuthKey].
func AuthKey() []byte {
	authKey.Lock()
	defer authKey.Unlock()
	if authKey.key == nil {
		if k, err := hex.DecodeString(os.Getenv(EnvAuthKey)); err == nil && os.Getenv(EnvAuthKey) != "" {
			authKey.key = k
		} else {
			k := make([]byte, 32)
			rand.Read(k)
			authKey.key = k
		}
	}
	return bytes.Clone(authKey.key)
}

// SetAuthKey replaces this process's default authentication key (a copy
// of key is kept). A nil key is taken as empty.
func SetAuthKey(key []byte) {
	authKey.Lock()
	defer authKey.Unlock()
	authKey.key = append([]byte{}, key...)
}
