package pickle

import (
	"fmt"
	"strings"
)

// The datetime module's types pickle their fields packed in a byte string
// (date, datetime, time) or as plain arguments (timedelta, timezone).
// reprDatetime prints them as Python 3.7+ does (datetime.date(2024, 1, 2),
// datetime.timedelta(days=1, seconds=5), datetime.timezone.utc, ...),
// instead of the generic object form, when the pickle has exactly the
// shape CPython writes; anything else falls back to the generic form.

// reprDatetime writes o if it is a datetime object in CPython's shape and
// reports whether it did.
func (r *reprWriter) reprDatetime(o *Object) bool {
	g, ok := o.Callable.(Global)
	if !ok || g.Module != "datetime" || o.Kind != Reduce || o.HasState || o.Kwargs != nil ||
		len(o.ListItems) > 0 || len(o.DictItems) > 0 {
		return false
	}
	switch g.Name {
	case "date":
		return r.reprDate(o.Args)
	case "datetime":
		return r.reprDateTime(o.Args)
	case "time":
		return r.reprTime(o.Args)
	case "timedelta":
		return r.reprTimedelta(o.Args)
	case "timezone":
		return r.reprTimezone(o.Args)
	}
	return false
}

// packedFields returns the byte string of args[0] if it has n bytes and
// the rest of args is at most one tzinfo (when tz is allowed).
func packedFields(args Tuple, n int, tz bool) (b []byte, tzinfo any, hasTZ, ok bool) {
	if len(args) == 0 || len(args) > 2 || (len(args) == 2 && !tz) {
		return nil, nil, false, false
	}
	switch x := args[0].(type) {
	case []byte:
		b = x
	case ByteString: // from Python 2
		b = []byte(x)
	default:
		return nil, nil, false, false
	}
	if len(b) != n {
		return nil, nil, false, false
	}
	if len(args) == 2 {
		return b, args[1], args[1] != nil, true
	}
	return b, nil, false, true
}

func validDate(y, m, d int) bool {
	return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= 31
}

func validTime(h, mi, s, us int) bool {
	return h < 24 && mi < 60 && s < 60 && us < 1000000
}

func (r *reprWriter) reprDate(args Tuple) bool {
	b, _, _, ok := packedFields(args, 4, false)
	if !ok {
		return false
	}
	y, m, d := int(b[0])<<8|int(b[1]), int(b[2]), int(b[3])
	if !validDate(y, m, d) {
		return false
	}
	fmt.Fprintf(&r.b, "datetime.date(%d, %d, %d)", y, m, d)
	return true
}

func (r *reprWriter) reprDateTime(args Tuple) bool {
	b, tz, hasTZ, ok := packedFields(args, 10, true)
	if !ok {
		return false
	}
	fold := b[2]&0x80 != 0
	y, m, d := int(b[0])<<8|int(b[1]), int(b[2]&0x7f), int(b[3])
	h, mi, s := int(b[4]), int(b[5]), int(b[6])
	us := int(b[7])<<16 | int(b[8])<<8 | int(b[9])
	if !validDate(y, m, d) || !validTime(h, mi, s, us) {
		return false
	}
	fmt.Fprintf(&r.b, "datetime.datetime(%d, %d, %d, %d, %d", y, m, d, h, mi)
	r.timeTail(s, us, fold, tz, hasTZ)
	return true
}

func (r *reprWriter) reprTime(args Tuple) bool {
	b, tz, hasTZ, ok := packedFields(args, 6, true)
	if !ok {
		return false
	}
	fold := b[0]&0x80 != 0
	h, mi, s := int(b[0]&0x7f), int(b[1]), int(b[2])
	us := int(b[3])<<16 | int(b[4])<<8 | int(b[5])
	if !validTime(h, mi, s, us) {
		return false
	}
	fmt.Fprintf(&r.b, "datetime.time(%d, %d", h, mi)
	r.timeTail(s, us, fold, tz, hasTZ)
	return true
}

// timeTail writes the seconds and microseconds when not zero, fold and
// tzinfo, and the closing parenthesis, as CPython's repr does.
func (r *reprWriter) timeTail(s, us int, fold bool, tz any, hasTZ bool) {
	switch {
	case us != 0:
		fmt.Fprintf(&r.b, ", %d, %d", s, us)
	case s != 0:
		fmt.Fprintf(&r.b, ", %d", s)
	}
	if fold {
		r.b.WriteString(", fold=1")
	}
	if hasTZ {
		r.b.WriteString(", tzinfo=")
		r.value(tz)
	}
	r.b.WriteByte(')')
}

func (r *reprWriter) reprTimedelta(args Tuple) bool {
	if len(args) != 3 {
		return false
	}
	var v [3]int64
	for i, a := range args {
		n, ok := a.(int64)
		if !ok {
			return false
		}
		v[i] = n
	}
	if v[1] < 0 || v[1] >= 86400 || v[2] < 0 || v[2] >= 1000000 {
		return false
	}
	var parts []string
	for i, name := range []string{"days", "seconds", "microseconds"} {
		if v[i] != 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", name, v[i]))
		}
	}
	if parts == nil {
		parts = []string{"0"}
	}
	r.b.WriteString("datetime.timedelta(" + strings.Join(parts, ", ") + ")")
	return true
}

func (r *reprWriter) reprTimezone(args Tuple) bool {
	if len(args) != 1 {
		return false
	}
	td, ok := args[0].(*Object)
	if !ok || td.Callable != (Global{Module: "datetime", Name: "timedelta"}) ||
		len(td.Args) != 3 || td.Args[0] != any(int64(0)) || td.Args[1] != any(int64(0)) || td.Args[2] != any(int64(0)) {
		return false
	}
	r.b.WriteString("datetime.timezone.utc")
	return true
}
