package mpconn

import (
	"encoding/json"
)

// Codec serialises the values that [Conn.Send] sends and [Conn.Recv]
// receives. A Codec must be safe for concurrent use.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is a Codec that sends values as UTF-8 JSON (encoding/json). A
// Python peer reads them with json.loads(conn.recv_bytes()).
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// defaultCodec is the codec of a Conn whose options name none.
var defaultCodec = JSON

func (c *Conn) marshal(v any) ([]byte, error) { return c.codec.Marshal(v) }

func (c *Conn) unmarshal(data []byte, v any) error { return c.codec.Unmarshal(data, v) }

// notePeerMessage records what a received message says about the peer,
// so that replies use a pickle protocol it can read.
func (c *Conn) notePeerMessage(msg []byte) {
	if len(msg) >= 2 && msg[0] == 0x80 && int32(msg[1]) > c.peerProto.Load() {
		c.peerProto.Store(int32(msg[1]))
	}
}
