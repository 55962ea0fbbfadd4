package main

import "errors"

// A reencoder turns a received message into the message to send back.
// Echo uses one to check that what it relays can be understood: raw mode
// passes payloads through, value mode decodes each payload with the value
// codec and encodes the value again.
type reencoder func(msg []byte) ([]byte, error)

// rawBytes is the reencoder of --bytes: the payload goes back unchanged.
func rawBytes(msg []byte) ([]byte, error) { return msg, nil }

// errNoValueCodec is what value mode reports until the pickle codec is
// plugged into valueReencoder.
var errNoValueCodec = errors.New("pickle mode not available yet: use --bytes")

// valueReencoder returns the reencoder of value mode (no --bytes): decode
// each message as a pickled value and encode it again, so that a message
// the codec cannot read ends its connection with an error.
func valueReencoder() (reencoder, error) {
	return nil, errNoValueCodec
}
