package platform

import "golang.org/x/sys/unix"

// CredSize is the size of the credentials a Unix socket may receive
// alongside its data (SCM_CREDENTIALS, a struct ucred), for sizing
// control buffers; 0 where no credentials message can come unasked.
const CredSize = unix.SizeofUcred
