// Package bench is the machinery of the mpconn command's bench: the cases,
// the implementations measured side by side (mpconn, a raw Go baseline,
// CPython's multiprocessing.connection under each interpreter found, the
// shared-memory rows), the processes that run them, the interleaved
// schedule, the statistics and the report (a table or JSON lines).
//
// The command parses its flags into a [Config] and calls [Run]; the
// processes a run starts are the same program's bench subcommand with
// [ProcessArg], which hands its arguments to [RunProcess].
package bench
