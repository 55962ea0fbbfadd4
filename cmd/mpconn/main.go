// Command mpconn serves and talks to CPython multiprocessing.connection
// peers from the command line.
//
// Usage:
//
//	mpconn COMMAND [flags] [arguments]
//
// The commands are:
//
//	echo    echo every message back to its sender
//	send    send values to a Listener and print the replies
//	listen  print every message clients send
//	manager serve or call Python multiprocessing.managers objects
//	bench   measure mpconn against raw Go sockets and CPython, side by side
//	tour    a self-contained demonstration: a Python child, an authenticated Listener, bench
//
// Run "mpconn COMMAND -h" for a command's flags.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit statuses.
const (
	exitOK    = 0 // done, or stopped by SIGINT or SIGTERM
	exitFail  = 1 // the command failed
	exitUsage = 2 // bad command line
)

// A command is one subcommand. run gets the arguments after the command's
// name and returns the exit status; ctx is cancelled by SIGINT and
// SIGTERM. Each command lives in its own file and is listed in commands.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, out output, args []string) int
}

// output is where a command writes: results on stdout, diagnostics on
// stderr.
type output struct {
	stdout, stderr io.Writer
}

// errorf prints "mpconn NAME: MESSAGE" on standard error, with MESSAGE
// made by fmt.Sprintf(format, a...) and tidied by [tidyError].
func (o output) errorf(name, format string, a ...any) {
	fmt.Fprintf(o.stderr, "mpconn %s: %s\n", name, tidyError(fmt.Sprintf(format, a...)))
}

// tidyError drops the "mpconn: " that the library's error texts begin
// with, at the start of msg and after each ": ", where it would repeat
// the command's own prefix: "mpconn send: mpconn: empty address" becomes
// "mpconn send: empty address".
func tidyError(msg string) string {
	msg = strings.TrimPrefix(msg, "mpconn: ")
	return strings.ReplaceAll(msg, ": mpconn: ", ": ")
}

// commands lists the subcommands in the order usage shows them.
var commands = []*command{
	echoCommand,
	sendCommand,
	listenCommand,
	managerCommand,
	benchCommand,
	tourCommand,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, output{stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches to the subcommand named by args[0].
func run(ctx context.Context, out output, args []string) int {
	if len(args) == 0 {
		usage(out.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(out.stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, out, args[1:])
		}
	}
	fmt.Fprintf(out.stderr, "mpconn: unknown command %q\n\n", args[0])
	usage(out.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "mpconn talks to CPython multiprocessing.connection peers.\n\n")
	fmt.Fprintf(w, "usage: mpconn COMMAND [flags] [arguments]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun \"mpconn COMMAND -h\" for a command's flags.\n")
}
