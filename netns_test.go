//go:build linux

package mpconn

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Across hosts: two network namespaces joined by a veth pair, with a
// lossy, slow link between them. The server is this test binary run again
// inside one namespace (ip netns exec); the clients dial from the other.
// Only the two addresses of the veth pair, in a 10.199.x.0/24 network
// private to the test, are ever addressed.

func init() { testChildren["netns-echo"] = netnsEchoServer }

// netnsKey is the authentication key of the netns test.
const netnsKey = "across namespaces"

// netnsEchoServer listens at MPCONN_NETNS_ADDR with netnsKey, prints
// "listening ADDR", echoes every message of every connection, and when
// its standard input closes prints "accepted N" and exits (0 when no
// handshake failed).
func netnsEchoServer() int {
	l, err := Listen(os.Getenv("MPCONN_NETNS_ADDR"), &ListenOptions{AuthKey: []byte(netnsKey), HandshakeTimeout: time.Minute})
	if err != nil {
		fmt.Fprintln(os.Stderr, "netns child:", err)
		return 1
	}
	fmt.Printf("listening %s\n", l.Address())
	var mu sync.Mutex
	accepted, failed := 0, 0
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := l.Accept(context.Background())
			if err != nil {
				if _, ok := err.(*HandshakeError); ok {
					fmt.Fprintln(os.Stderr, "netns child:", err)
					mu.Lock()
					failed++
					mu.Unlock()
					continue
				}
				return
			}
			mu.Lock()
			accepted++
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				ctx := context.Background()
				for {
					m, err := c.RecvBytes(ctx)
					if err != nil {
						return
					}
					if err := c.SendBytes(ctx, m); err != nil {
						return
					}
				}
			}()
		}
	}()
	io.Copy(io.Discard, os.Stdin)
	l.Close()
	wg.Wait()
	fmt.Printf("accepted %d\n", accepted)
	if failed > 0 {
		return 1
	}
	return 0
}

// netnsRun runs a command, failing the test with its output on error.
func netnsRun(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// dialInNetns dials address from inside the network namespace called ns:
// the socket is created on an OS thread moved into ns, and keeps
// belonging to ns afterwards, whatever thread uses it. The thread is
// discarded (the goroutine exits locked).
func dialInNetns(ctx context.Context, ns, address string, opts *DialOptions) (*Conn, error) {
	type result struct {
		c   *Conn
		err error
	}
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			res <- result{nil, err}
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			res <- result{nil, fmt.Errorf("setns %s: %w", ns, err)}
			return
		}
		c, err := Dial(ctx, address, opts)
		res <- result{c, err}
	}()
	r := <-res
	return r.c, r.err
}

// TestNetnsLossyLink: authenticated connections between two network
// namespaces over a link with delay, loss and reordering (netem); every
// message arrives whole and in order.
func TestNetnsLossyLink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: network namespaces need root; skipped")
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install -y iproute2): skipped", tool)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var r [4]byte
	rand.Read(r[:])
	id := hex.EncodeToString(r[:3])
	subnet := fmt.Sprintf("10.199.%d", 1+int(r[3])%254)
	nsA, nsB := "mpconn-"+id+"-a", "mpconn-"+id+"-b"
	vethA, vethB := "mpc"+id+"a", "mpc"+id+"b"
	addrA, addrB := subnet+".1", subnet+".2"

	if out, err := exec.Command("ip", "netns", "add", nsA).CombinedOutput(); err != nil {
		t.Skipf("cannot create network namespaces here (no CAP_SYS_ADMIN?): %v: %s: skipped", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsA).Run() })
	netnsRun(t, "ip", "netns", "add", nsB)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsB).Run() })
	netnsRun(t, "ip", "link", "add", vethA, "type", "veth", "peer", "name", vethB)
	t.Cleanup(func() { exec.Command("ip", "link", "del", vethA).Run() }) // if it never moved
	netnsRun(t, "ip", "link", "set", vethA, "netns", nsA)
	netnsRun(t, "ip", "link", "set", vethB, "netns", nsB)
	netnsRun(t, "ip", "-n", nsA, "addr", "add", addrA+"/24", "dev", vethA)
	netnsRun(t, "ip", "-n", nsB, "addr", "add", addrB+"/24", "dev", vethB)
	for _, ns := range []string{nsA, nsB} {
		netnsRun(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	netnsRun(t, "ip", "-n", nsA, "link", "set", vethA, "up")
	netnsRun(t, "ip", "-n", nsB, "link", "set", vethB, "up")

	// Impair both directions. Without netem in the kernel, fall back to a
	// token bucket with a short queue: it delays and drops packets (loss
	// and retransmissions, though not random, and no reordering).
	impairment := "netem delay 20ms 5ms loss 2% reorder 10%"
	for _, dev := range [][2]string{{nsA, vethA}, {nsB, vethB}} {
		args := []string{"tc", "-n", dev[0], "qdisc", "add", "dev", dev[1], "root", "netem", "delay", "20ms", "5ms", "loss", "2%", "reorder", "10%"}
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			impairment = "tbf rate 4mbit burst 8kb limit 16kb (netem unavailable: " + strings.TrimSpace(string(out)) + ")"
			netnsRun(t, "tc", "-n", dev[0], "qdisc", "add", "dev", dev[1], "root", "tbf", "rate", "4mbit", "burst", "8kb", "limit", "16kb")
		}
	}
	t.Logf("link %s <-> %s: %s", addrA, addrB, impairment)

	// The server, in namespace B.
	ctx := testCtx(t)
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", nsB, exe)
	cmd.Env = append(os.Environ(), childEnv+"=netns-echo", "MPCONN_NETNS_ADDR="+addrB+":0")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "listening "+addrB+":") {
		t.Fatalf("server said %q", lines.Text())
	}
	address := strings.TrimPrefix(lines.Text(), "listening ")

	// The clients, in namespace A.
	const conns, msgs = 8, 60
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	received := 0
	for id := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialInNetns(ctx, nsA, address, &DialOptions{AuthKey: []byte(netnsKey)})
			if err != nil {
				t.Errorf("client %d: %v", id, err)
				return
			}
			defer c.Close()
			if la := c.LocalAddr().String(); !strings.HasPrefix(la, addrA+":") {
				t.Errorf("client %d: local address %s, want %s", id, la, addrA)
				return
			}
			sent := make(chan error, 1)
			go func() {
				for seq := range msgs {
					// Sequence numbers 450 to 509 include a 200,000-byte
					// message and the 16 KiB boundary sizes.
					if err := c.SendBytes(ctx, loadMessage(id, 450+seq)); err != nil {
						sent <- err
						return
					}
				}
				sent <- nil
			}()
			for seq := range msgs {
				p, err := c.RecvBytes(ctx)
				if err != nil {
					t.Errorf("client %d: receive %d: %v", id, seq, err)
					return
				}
				if err := checkLoadMessage(p, id, 450+seq); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				received++
				mu.Unlock()
			}
			if err := <-sent; err != nil {
				t.Errorf("client %d: send: %v", id, err)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("MEASURED across namespaces (%s): %d authenticated connections x %d echoed messages in %v; %d of %d received intact",
		impairment, conns, msgs, elapsed.Round(time.Millisecond), received, conns*msgs)

	for _, dev := range [][2]string{{nsA, vethA}, {nsB, vethB}} {
		out, _ := exec.Command("tc", "-s", "-n", dev[0], "qdisc", "show", "dev", dev[1]).CombinedOutput()
		t.Logf("MEASURED %s qdisc: %s", dev[1], strings.Join(strings.Fields(string(out)), " "))
	}
	for _, ns := range []string{nsA, nsB} {
		t.Logf("MEASURED %s TCP retransmitted segments: %s", ns, netnsRetrans(ns))
	}

	stdin.Close()
	if !lines.Scan() || lines.Text() != fmt.Sprintf("accepted %d", conns) {
		t.Errorf("server said %q, want %q", lines.Text(), fmt.Sprintf("accepted %d", conns))
	}
	err = cmd.Wait()
	waited = true
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	if received != conns*msgs {
		t.Fatalf("%d of %d messages echoed back intact", received, conns*msgs)
	}
}

// netnsRetrans returns the count of TCP segments retransmitted in network
// namespace ns (RetransSegs in /proc/net/snmp), or why it is unknown.
func netnsRetrans(ns string) string {
	out, err := exec.Command("ip", "netns", "exec", ns, "cat", "/proc/net/snmp").Output()
	if err != nil {
		return err.Error()
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Tcp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "RetransSegs" && i < len(f) {
				return f[i]
			}
		}
	}
	return "unknown"
}
