package mpconn

import (
	"encoding/json"
	"reflect"

	"github.com/mpconn/mpconn/pickle"
)

// checkRecvTarget rejects, before anything is read, a Recv target that
// the Conn's built-in codec cannot decode into: nil or not a pointer. The
// message then stays in the Conn for the next receive. Codecs of the
// caller's own are left to judge their targets.
func (c *Conn) checkRecvTarget(v any) error {
	switch c.codec.(type) {
	case PickleCodec:
		if !isNonNilPointer(v) {
			return &pickle.InvalidUnmarshalError{Type: reflect.TypeOf(v)}
		}
	case jsonCodec:
		if !isNonNilPointer(v) {
			return &json.InvalidUnmarshalError{Type: reflect.TypeOf(v)}
		}
	}
	return nil
}

func isNonNilPointer(v any) bool {
	if p, ok := v.(*any); ok {
		return p != nil
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && !rv.IsNil()
}
