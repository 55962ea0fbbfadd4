package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// newFlagSet returns a flag set that reports errors to out.stderr and
// leaves usage to parseFlags.
func newFlagSet(name string, out output) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out.stderr)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args with fs, allowing flags after the positional
// arguments (until a "--"), and returns the positional arguments. On -h it
// prints the usage on stdout and returns exitOK; on a bad flag it prints
// the usage on stderr and returns exitUsage; otherwise the status is -1.
func parseFlags(fs *flag.FlagSet, out output, intro string, args []string) (pos []string, status int) {
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, out.stdout, intro)
			return nil, exitOK
		}
		if err != nil {
			printUsage(fs, out.stderr, synopsis(intro))
			return nil, exitUsage
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if len(rest) == 0 || (consumed > 0 && args[consumed-1] == "--") {
			return append(pos, rest...), -1
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// synopsis returns the first line of a command's usage text.
func synopsis(intro string) string {
	line, _, _ := strings.Cut(intro, "\n")
	return line + "\n"
}

func printUsage(fs *flag.FlagSet, w io.Writer, intro string) {
	fmt.Fprint(w, intro)
	fmt.Fprintf(w, "\nflags:\n")
	saved := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(saved)
}

// usageError prints a command-line mistake and the usage on stderr and
// returns exitUsage.
func usageError(fs *flag.FlagSet, out output, intro string, format string, a ...any) int {
	out.errorf(fs.Name(), format, a...)
	printUsage(fs, out.stderr, synopsis(intro))
	return exitUsage
}

// keyFlags are the authentication key flags shared by the commands that
// connect or listen.
type keyFlags struct {
	text string
	hex  string
}

func (k *keyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.text, "authkey", "", "authenticate with `KEY` (its UTF-8 bytes), as CPython's authkey")
	fs.StringVar(&k.hex, "authkey-hex", "", "authenticate with the key written in `HEX`")
}

// key returns the key, or nil for no authentication. An empty --authkey
// given explicitly is an empty key, which still authenticates.
func (k *keyFlags) key(fs *flag.FlagSet) ([]byte, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case set["authkey"] && set["authkey-hex"]:
		return nil, errors.New("give --authkey or --authkey-hex, not both")
	case set["authkey"]:
		return []byte(k.text), nil
	case set["authkey-hex"]:
		b, err := hex.DecodeString(k.hex)
		if err != nil {
			return nil, fmt.Errorf("--authkey-hex: %v", err)
		}
		return b, nil
	}
	return nil, nil
}
