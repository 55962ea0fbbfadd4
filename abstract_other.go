//go:build !linux

package mpconn

// abstractSockets: only Linux has abstract Unix socket names.
const abstractSockets = false
