package pickle

import (
	"errors"
	"reflect"
)

// Stand-ins for the typed layer (reflect_encode.go, reflect_decode.go),
// which replaces this file at merge time.

func fromGo(v reflect.Value) (any, error) {
	if !v.IsValid() {
		return nil, nil
	}
	return nil, errors.New("pickle: unsupported type " + v.Type().String())
}

func assignValue(dst reflect.Value, src any) error {
	if src == nil {
		dst.SetZero()
		return nil
	}
	sv := reflect.ValueOf(src)
	if sv.Type().AssignableTo(dst.Type()) {
		dst.Set(sv)
		return nil
	}
	return errors.New("pickle: cannot store " + sv.Type().String() + " in " + dst.Type().String())
}
