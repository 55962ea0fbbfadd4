//go:build windows

package shm

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/mpconn/mpconn/pickle"
)

func init() { childMain = blockChild }

// blockChild runs in a child process: it opens SHM_TEST_NAME, checks
// that it starts with SHM_TEST_WANT, and writes "child" after it.
func blockChild() int {
	b, err := Open(os.Getenv("SHM_TEST_NAME"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	defer b.Close()
	want := os.Getenv("SHM_TEST_WANT")
	if !bytes.HasPrefix(b.Bytes(), []byte(want)) {
		fmt.Fprintf(os.Stderr, "child: block starts %q, want %q\n", b.Bytes()[:len(want)], want)
		return 1
	}
	copy(b.Bytes()[len(want):], "child")
	return 0
}

func TestCreateOpenLikeCPythonWindows(t *testing.T) {
	b, err := Create("", 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !regexp.MustCompile(`^wnsm_[0-9a-f]{8}$`).MatchString(b.Name()) {
		t.Fatalf("name %q is not wnsm_ and 8 hex digits", b.Name())
	}
	if b.Size() != 1000 || len(b.Bytes()) != 1000 {
		t.Fatalf("created block: size %d, bytes %d; want 1000", b.Size(), len(b.Bytes()))
	}
	o := openBoth(t, b)
	defer o.Close()
	// Attaching maps the whole view: the size rounded up to pages, as
	// CPython's VirtualQuerySize gives it.
	if page := os.Getpagesize(); o.Size() != (1000+page-1)/page*page {
		t.Fatalf("opened block: size %d, want 1000 rounded up to %d-byte pages", o.Size(), page)
	}
	if err := o.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if err := o.Access(func(p []byte) { p[20] = 'x' }); err != nil || b.Bytes()[20] != 'x' {
		t.Fatalf("Access: %v, byte %q", err, b.Bytes()[20])
	}
	// Unlink removes nothing on Windows: the section lives while it is open.
	if err := b.Unlink(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(b.Name())
	if err != nil {
		t.Fatalf("Open after Unlink while open: %v", err)
	}
	again.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	closeTwice(t, o)
	// The last handle closed, the section and its name are gone.
	if _, err := Open(b.Name()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open after the last Close: %v, want fs.ErrNotExist", err)
	}
}

// badNames are refused here besides those every system refuses: a
// backslash would reach another namespace of kernel objects.
var badNames = []string{`Global\x`, `a\b`}

// TestBlockOtherProcessWindows: a child process opens the block by the
// name it travels under in a pickle, reads what the parent wrote and
// writes back.
func TestBlockOtherProcessWindows(t *testing.T) {
	b, err := Create("", 3000)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want := "from the parent"
	copy(b.Bytes(), want)

	data, err := pickle.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var ref Ref
	if err := pickle.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if ref.Name != b.Name() || ref.Size != 3000 || ref.List {
		t.Fatalf("pickled block came back as %+v", ref)
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "SHM_TEST_CHILD=1", "SHM_TEST_NAME="+ref.Name, "SHM_TEST_WANT="+want)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if got := string(b.Bytes()[len(want) : len(want)+5]); got != "child" {
		t.Fatalf("the child's write is not seen: %q", got)
	}
}

// TestListWindows: a ShareableList in a named section, opened again by
// name (whose mapping is whole pages, longer than the list).
func TestListWindows(t *testing.T) {
	l, err := CreateList("", Layout39, int64(7), "seven", 7.5, true, nil, []byte("7"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Set(1, "SEVEN"); err != nil {
		t.Fatal(err)
	}
	o, err := OpenList(l.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	got, err := o.Values()
	if err != nil {
		t.Fatal(err)
	}
	want := []any{int64(7), "SEVEN", 7.5, true, nil, []byte("7")}
	if !pickle.Equal(got, want) {
		t.Fatalf("opened list holds %v, want %v", got, want)
	}
}
