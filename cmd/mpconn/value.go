package main

import "github.com/mpconn/mpconn/pickle"

// A reencoder turns a received message into the message to send back.
// Echo uses one to check that what it relays can be understood: raw mode
// passes payloads through, value mode decodes each payload with the value
// codec and encodes the value again.
type reencoder func(msg []byte) ([]byte, error)

// rawBytes is the reencoder of --bytes: the payload goes back unchanged.
func rawBytes(msg []byte) ([]byte, error) { return msg, nil }

// valueReencoder returns the reencoder of value mode (no --bytes): each
// message is decoded as a pickle (nothing it names is executed) and the
// value encoded again, in the protocol of the message received and at
// least 2, so the peer gets an equal object of the same type in a protocol
// it reads. A message that is not a pickle ends its connection.
func valueReencoder() (reencoder, error) {
	return repickle, nil
}

func repickle(msg []byte) ([]byte, error) {
	var v any
	if err := pickle.Unmarshal(msg, &v); err != nil {
		return nil, err
	}
	proto := min(max(pickle.Protocol(msg), 2), pickle.HighestProtocol)
	return pickle.MarshalProtocol(v, proto)
}
