//go:build linux || windows

package shm

import (
	"bytes"
	"errors"
	"io/fs"
	"testing"
)

// What named blocks do alike on every system that has them.

// openBoth writes through b, opens b's name, and checks that each mapping
// sees the other's writes and that the name cannot be created again. The
// caller closes what it returns.
func openBoth(t *testing.T, b *Block) *Block {
	t.Helper()
	copy(b.Bytes(), "hello")
	o, err := Open(b.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(o.Bytes(), []byte("hello")) {
		o.Close()
		t.Fatalf("opened block does not show the creator's bytes: %q", o.Bytes()[:5])
	}
	copy(o.Bytes()[10:], "world")
	if string(b.Bytes()[10:15]) != "world" {
		o.Close()
		t.Fatal("writes through one mapping are not seen through the other")
	}
	if _, err := Create(b.Name(), 10); !errors.Is(err, fs.ErrExist) {
		o.Close()
		t.Fatalf("Create of an existing name: %v, want fs.ErrExist", err)
	}
	return o
}

// closeTwice closes o twice and checks that it has let its memory go.
func closeTwice(t *testing.T, o *Block) {
	t.Helper()
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if o.Bytes() != nil || o.Size() != 0 {
		t.Fatal("closed block still has memory")
	}
	if err := o.Check(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Check after Close: %v", err)
	}
}

func TestCreateGivenNameAndSlash(t *testing.T) {
	name := NewName()
	b, err := Create("/"+name, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	defer Unlink(name)
	if b.Name() != name {
		t.Fatalf("name %q, want %q without the slash", b.Name(), name)
	}
	if _, err := Open("missing_" + name); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open of a name nobody made: %v, want fs.ErrNotExist", err)
	}
}

func TestBadNamesAndSizes(t *testing.T) {
	names := append([]string{"", "/", ".", "..", "a/b", "../etc/passwd", "x\x00y", string(make([]byte, 256))}, badNames...)
	for _, n := range names {
		var ne *NameError
		if _, err := Open(n); !errors.As(err, &ne) {
			t.Errorf("Open(%q): %v, want a *NameError", n, err)
		}
		if n == "" {
			continue // Create("") makes up a name
		}
		if b, err := Create(n, 8); !errors.As(err, &ne) {
			t.Errorf("Create(%q): %v, want a *NameError", n, err)
			if b != nil {
				b.Close()
				b.Unlink()
			}
		}
	}
	for _, size := range []int{0, -1} {
		if _, err := Create("", size); err == nil {
			t.Errorf("Create with size %d succeeded", size)
		}
	}
}
