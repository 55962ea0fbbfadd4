package bench

import (
	"strings"
	"time"
)

// A benchCase is one measurement of bench.
type benchCase struct {
	name    string
	title   string // what is measured
	unit    string
	lower   bool // a lower value is better (a time per operation)
	object  bool // the Go implementations need the pickle codec
	rawNote string
	// manager: the case measures a manager server (the implementation) under
	// Python clients (the driver, always Python); raw Go has no such server.
	manager bool
	// value turns a run's count of operations and its duration into the
	// case's unit.
	value func(n int64, d time.Duration) float64
}

func perOpMicros(n int64, d time.Duration) float64 {
	return float64(d.Nanoseconds()) / 1e3 / float64(n)
}

func perSecond(n int64, d time.Duration) float64 { return float64(n) / d.Seconds() }

// Case describes one of bench's cases.
type Case struct {
	Name    string
	Unit    string // of its values
	Manager bool   // it measures manager servers (the raw Go baseline has none)
}

// Cases lists the cases, in the order a bench runs and prints them.
func Cases() []Case {
	cs := make([]Case, len(benchCases))
	for i, c := range benchCases {
		cs[i] = Case{Name: c.name, Unit: c.unit, Manager: c.manager}
	}
	return cs
}

// CaseNames lists the names of the cases, for error messages.
func CaseNames() string {
	names := make([]string, len(benchCases))
	for i, c := range benchCases {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// benchCases are bench's cases, in the order it runs and prints them.
var benchCases = []*benchCase{
	{
		name:  "rtt_bytes_64",
		title: "round trip of a 64-byte message (send_bytes, echoed back)",
		unit:  "µs", lower: true, value: perOpMicros,
	},
	{
		name:  "rtt_object",
		title: "round trip of {'id': 1, 'name': 'hello', 'vals': [1.5, 2.5, 3.5]} (send/recv, pickled)",
		unit:  "µs", lower: true, object: true, value: perOpMicros,
		rawNote: "raw Go pickles with the same codec as mpconn",
	},
	{
		name:  "stream_bytes_64",
		title: "one-way stream of 64-byte messages, the last one acknowledged",
		unit:  "msg/s", value: perSecond,
	},
	{
		name:  "stream_object",
		title: "one-way stream of the small dict (send/recv, pickled), the last one acknowledged",
		unit:  "msg/s", object: true, value: perSecond,
		rawNote: "raw Go pickles with the same codec as mpconn",
	},
	{
		name:  "bulk_1MiB",
		title: "one-way 1 MiB messages (mpconn: RecvBytesInto a reused buffer; CPython: recv_bytes_into a bytearray)",
		unit:  "GB/s",
		value: func(n int64, d time.Duration) float64 {
			return float64(n) * benchBulkSize / 1e9 / d.Seconds()
		},
	},
	{
		name:  "bulk_64MiB",
		title: "one-way 64 MiB messages (socket rows: RecvBytesInto / recv_bytes_into a reused buffer; shared rows: the sender copies the prepared payload into a shared block, or writes it there in place, and the receiver reads one byte per page in place)",
		unit:  "GB/s",
		value: func(n int64, d time.Duration) float64 {
			return float64(n) * benchHugeSize / 1e9 / d.Seconds()
		},
	},
	{
		name:  "connect_auth",
		title: "connect to a Listener on a Unix socket, authenticate both ways (authkey), close",
		unit:  "conn/s", value: perSecond,
		rawNote: "raw Go: a plain Unix connect and close, with NO handshake",
	},
	{
		name:  "manager_ops",
		title: "4 Python client processes doing dict set/get and Queue put/get on a manager server (mpconn: managers.Server, as mpconn manager serve; CPython: SyncManager's server), Unix socket",
		unit:  "ops/s", value: perSecond, manager: true,
	},
}

// HasCase reports whether there is a case called name.
func HasCase(name string) bool { return findBenchCase(name) != nil }

// findBenchCase returns the case called name, or nil.
func findBenchCase(name string) *benchCase {
	for _, c := range benchCases {
		if c.name == name {
			return c
		}
	}
	return nil
}
