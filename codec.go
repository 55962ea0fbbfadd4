package mpconn

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/mpconn/mpconn/pickle"
)

// Codec serialises the values that [Conn.Send] sends and [Conn.Recv]
// receives. A Codec must be safe for concurrent use.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// Pickle is the default Codec: values travel as pickles, as CPython's
// Connection.send and recv exchange them, so a Python peer can call
// conn.send(obj) and conn.recv(). See package pickle for the mapping
// between Go and Python values; decoding never executes anything.
var Pickle Codec = PickleCodec{}

// PickleCodec is a Codec that pickles values with package pickle.
type PickleCodec struct {
	// Protocol is the pickle protocol of the values sent, 2 to 5. Zero
	// means protocol 4, what CPython 3.8 to 3.13 send, except to a peer
	// that has sent protocol 2 or lower (Python 2), which gets protocol
	// 2 back.
	Protocol int
}

// Marshal pickles v at the codec's protocol (4 when zero).
func (p PickleCodec) Marshal(v any) ([]byte, error) {
	return pickle.MarshalProtocol(v, p.proto(-1))
}

// Unmarshal decodes a pickle into v (see pickle.Unmarshal).
func (PickleCodec) Unmarshal(data []byte, v any) error { return pickle.Unmarshal(data, v) }

// proto returns the protocol to send to a peer whose last pickle had
// protocol peer (-1 when unknown).
func (p PickleCodec) proto(peer int32) int {
	if p.Protocol != 0 {
		return p.Protocol
	}
	if peer >= 0 && peer <= 2 {
		return 2
	}
	return pickle.DefaultProtocol
}

// JSON is a Codec that sends values as UTF-8 JSON (encoding/json). A
// Python peer reads them with json.loads(conn.recv_bytes()).
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// defaultCodec is the codec of a Conn whose options name none.
var defaultCodec = Pickle

// sendBufs holds the buffers that pickles are encoded into before they
// are sent; a buffer is free again once SendBytes has returned.
var sendBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// send encodes v with the Conn's codec and sends it.
func (c *Conn) send(ctx context.Context, v any) error {
	pc, ok := c.codec.(PickleCodec)
	if !ok {
		p, err := c.codec.Marshal(v)
		if err != nil {
			return err
		}
		return c.SendBytes(ctx, p)
	}
	bp := sendBufs.Get().(*[]byte)
	b, err := pickle.AppendMarshal((*bp)[:0], v, pc.proto(c.peerProto.Load()))
	if err == nil {
		err = c.SendBytes(ctx, b)
	}
	if cap(b) <= 1<<20 {
		*bp = b[:0]
		sendBufs.Put(bp)
	}
	return err
}

func (c *Conn) unmarshal(data []byte, v any) error { return c.codec.Unmarshal(data, v) }

// notePeerMessage records the pickle protocol of a received message, so
// that replies use one the peer can read.
func (c *Conn) notePeerMessage(msg []byte) {
	if p := int32(pickle.Protocol(msg)); p != c.peerProto.Load() {
		c.peerProto.Store(p)
	}
}
