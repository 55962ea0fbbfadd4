//go:build linux

package shm

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"regexp"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// createT creates a block with a fresh name and unlinks and closes it at
// the end of the test.
func createT(t *testing.T, size int) *Block {
	t.Helper()
	b, err := Create("", size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Close()
		Unlink(b.Name())
	})
	return b
}

func TestCreateOpenLikeCPython(t *testing.T) {
	b := createT(t, 1000)
	if !regexp.MustCompile(`^psm_[0-9a-f]{8}$`).MatchString(b.Name()) {
		t.Fatalf("name %q is not psm_ and 8 hex digits", b.Name())
	}
	if len("/"+b.Name()) > 14 {
		t.Fatalf("name %q is longer than FreeBSD's 14 characters", b.Name())
	}
	fi, err := os.Stat("/dev/shm/" + b.Name())
	if err != nil {
		t.Fatal(err)
	}
	umask := unix.Umask(0)
	unix.Umask(umask)
	if got, want := fi.Mode().Perm(), os.FileMode(0o600&^umask); got != want {
		t.Errorf("mode %v, want %v", got, want)
	}
	if fi.Size() != 1000 || b.Size() != 1000 || len(b.Bytes()) != 1000 {
		t.Errorf("sizes: file %d, block %d, bytes %d; want 1000 (Linux does not round)", fi.Size(), b.Size(), len(b.Bytes()))
	}
	o := openBoth(t, b)
	defer o.Close()
	if o.Size() != 1000 {
		t.Fatalf("opened block: size %d, want 1000", o.Size())
	}
	if err := b.Unlink(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(b.Name()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open after unlink: %v, want fs.ErrNotExist", err)
	}
	if string(o.Bytes()[:5]) != "hello" {
		t.Fatal("mapping lost after unlink")
	}
	closeTwice(t, o)
}

// badNames are refused here besides those every system refuses.
var badNames []string

func TestEmptyFilesAndSymlinks(t *testing.T) {
	// An empty file (made by someone else) cannot be mapped.
	name := NewName()
	f, err := os.OpenFile("/dev/shm/"+name, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	defer Unlink(name)
	if _, err := Open(name); err == nil {
		t.Fatal("Open of an empty file succeeded")
	}
	// Symlinks are not followed.
	link := NewName()
	if err := os.Symlink("/etc/passwd", "/dev/shm/"+link); err != nil {
		t.Fatal(err)
	}
	defer os.Remove("/dev/shm/" + link)
	if b, err := Open(link); err == nil {
		b.Close()
		t.Fatal("Open followed a symlink")
	}
}

// A peer that truncates a block must not crash a reader that uses Access.

// sink takes the bytes tests read, so that the reads are made; atomic,
// because parallel subtests read through it.
var sink atomic.Int32

func TestTruncatedUnderAccess(t *testing.T) {
	b := createT(t, 3*4096)
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
	// What a hostile peer does: shrink the file under the mapping.
	if err := os.Truncate("/dev/shm/"+b.Name(), 4096); err != nil {
		t.Fatal(err)
	}
	if err := b.Check(); !errors.Is(err, ErrFault) {
		t.Fatalf("Check after truncation: %v, want ErrFault", err)
	}
	var first byte
	err := b.Access(func(p []byte) {
		first = p[0]                   // still in the file
		sink.Store(int32(p[len(p)-1])) // past its end: SIGBUS
		t.Error("read past the end of the file did not fault")
	})
	if !errors.Is(err, ErrFault) {
		t.Fatalf("Access: %v, want ErrFault", err)
	}
	_ = first
	// The block stays usable where the file still is.
	if err := b.Access(func(p []byte) { p[0] = 1 }); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Access(func([]byte) {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Access after Close: %v", err)
	}
}

// A list whose block was truncated under it reports a fault.
func TestListTruncated(t *testing.T) {
	vals := []any{string(bytes.Repeat([]byte("x"), 9000)), int64(1)}
	l, err := CreateList("", Layout39, vals...)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	defer Unlink(l.Name())
	if err := os.Truncate("/dev/shm/"+l.Name(), 100); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Get(1); !errors.Is(err, ErrFault) {
		t.Fatalf("Get on a truncated list: %v, want ErrFault", err)
	}
	if err := l.Set(1, int64(2)); !errors.Is(err, ErrFault) {
		t.Fatalf("Set on a truncated list: %v, want ErrFault", err)
	}
}

func TestOpenListByName(t *testing.T) {
	l, err := CreateList("", Layout38, int64(5), "five")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	defer Unlink(l.Name())
	o, err := OpenList(l.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Layout() != Layout38 {
		t.Fatalf("layout %v, want 3.8", o.Layout())
	}
	if err := l.Set(0, "six"); err != nil {
		t.Fatal(err)
	}
	v, err := o.Get(0)
	if err != nil || v != "six" {
		t.Fatalf("Get: %v, %v", v, err)
	}
	r := o.Ref()
	if !r.List || r.Name != l.Name() {
		t.Fatalf("Ref %+v", r)
	}
	ol, err := r.OpenList()
	if err != nil {
		t.Fatal(err)
	}
	ol.Close()
}
