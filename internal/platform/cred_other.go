//go:build !linux

package platform

// CredSize is the size of the credentials a Unix socket may receive
// alongside its data, for sizing control buffers: 0, since on these
// systems credentials come only when asked for (LOCAL_CREDS,
// SCM_CREDS), which mpconn never does.
const CredSize = 0
