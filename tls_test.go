package mpconn

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// testPKI is a certificate authority made at test time, with a server
// certificate for 127.0.0.1 and a client certificate.
type testPKI struct {
	pool   *x509.CertPool
	server tls.Certificate
	client tls.Certificate
}

func newTestPKI(t *testing.T, name string) *testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name + " CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, usage x509.ExtKeyUsage) tls.Certificate {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
			DNSNames:     []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &testPKI{
		pool:   pool,
		server: leaf(2, x509.ExtKeyUsageServerAuth),
		client: leaf(3, x509.ExtKeyUsageClientAuth),
	}
}

func (p *testPKI) serverConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.server}, MinVersion: tls.VersionTLS12}
}

func (p *testPKI) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}
}

// tlsEcho accepts one connection and echoes one message on it. The
// result is the Accept error, or the echo's.
func tlsEcho(ctx context.Context, l *Listener) <-chan error {
	errc := make(chan error, 1)
	go func() {
		c, err := l.Accept(ctx)
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		if _, ok := c.t.(*tls.Conn); !ok {
			errc <- errors.New("accepted connection is not TLS")
			return
		}
		m, err := c.RecvBytes(ctx)
		if err == nil {
			err = c.SendBytes(ctx, m)
		}
		errc <- err
	}()
	return errc
}

func checkTLSEcho(t *testing.T, ctx context.Context, c *Conn) {
	t.Helper()
	tc, ok := c.t.(*tls.Conn)
	if !ok {
		t.Fatal("dialled connection is not TLS")
	}
	if !tc.ConnectionState().HandshakeComplete {
		t.Fatal("TLS handshake not complete after Dial")
	}
	want := []byte("over TLS")
	if err := c.SendBytes(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := c.RecvBytes(ctx)
	if err != nil || string(got) != string(want) {
		t.Fatalf("echo: %q, %v", got, err)
	}
}

func TestTLSOnly(t *testing.T) {
	ctx := testCtx(t)
	pki := newTestPKI(t, "only")
	l, err := Listen("127.0.0.1:0", &ListenOptions{TLSConfig: pki.serverConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	errc := tlsEcho(ctx, l)
	c, err := Dial(ctx, l.Address(), &DialOptions{TLSConfig: pki.clientConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkTLSEcho(t, ctx, c)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestTLSWithHMAC(t *testing.T) {
	ctx := testCtx(t)
	pki := newTestPKI(t, "hmac")
	key := []byte("tls and hmac")
	l, err := Listen("127.0.0.1:0", &ListenOptions{TLSConfig: pki.serverConfig(), AuthKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	errc := tlsEcho(ctx, l)
	c, err := Dial(ctx, l.Address(), &DialOptions{TLSConfig: pki.clientConfig(), AuthKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkTLSEcho(t, ctx, c)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// Mutual TLS: the server asks for a client certificate from its CA.
func TestTLSClientCertificates(t *testing.T) {
	ctx := testCtx(t)
	pki := newTestPKI(t, "mutual")
	scfg := pki.serverConfig()
	scfg.ClientAuth = tls.RequireAndVerifyClientCert
	scfg.ClientCAs = pki.pool
	l, err := Listen("127.0.0.1:0", &ListenOptions{TLSConfig: scfg})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	t.Run("with certificate", func(t *testing.T) {
		errc := tlsEcho(ctx, l)
		ccfg := pki.clientConfig()
		ccfg.Certificates = []tls.Certificate{pki.client}
		c, err := Dial(ctx, l.Address(), &DialOptions{TLSConfig: ccfg})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		checkTLSEcho(t, ctx, c)
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("without certificate", func(t *testing.T) {
		errc := tlsEcho(ctx, l)
		c, err := Dial(ctx, l.Address(), &DialOptions{TLSConfig: pki.clientConfig()})
		if err == nil {
			// TLS 1.3: the client learns of the rejection on its first
			// read.
			_, err = c.RecvBytes(ctx)
			c.Close()
		}
		if err == nil {
			t.Fatal("client without a certificate was served")
		}
		var he *HandshakeError
		if err := <-errc; !errors.As(err, &he) {
			t.Fatalf("Accept: %v, want a *HandshakeError", err)
		}
	})
}

func TestTLSWrongCA(t *testing.T) {
	ctx := testCtx(t)
	pki := newTestPKI(t, "right")
	other := newTestPKI(t, "other")
	l, err := Listen("127.0.0.1:0", &ListenOptions{TLSConfig: pki.serverConfig(), AuthKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	errc := tlsEcho(ctx, l)
	c, err := Dial(ctx, l.Address(), &DialOptions{TLSConfig: other.clientConfig(), AuthKey: []byte("k")})
	if err == nil {
		c.Close()
		t.Fatal("Dial trusted a certificate from an unknown CA")
	}
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Fatalf("Dial: %v, want a *tls.CertificateVerificationError", err)
	}
	var he *HandshakeError
	if err := <-errc; !errors.As(err, &he) {
		t.Fatalf("Accept: %v, want a *HandshakeError", err)
	}
	// The Listener keeps serving.
	errc = tlsEcho(ctx, l)
	c, err = Dial(ctx, l.Address(), &DialOptions{TLSConfig: pki.clientConfig(), AuthKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkTLSEcho(t, ctx, c)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestTLSWrongHMACKey(t *testing.T) {
	ctx := testCtx(t)
	pki := newTestPKI(t, "key")
	l, err := Listen("127.0.0.1:0", &ListenOptions{TLSConfig: pki.serverConfig(), AuthKey: []byte("right")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	errc := tlsEcho(ctx, l)
	c, err := Dial(ctx, l.Address(), &DialOptions{TLSConfig: pki.clientConfig(), AuthKey: []byte("wrong")})
	if err == nil {
		c.Close()
		t.Fatal("Dial with a wrong key succeeded over TLS")
	}
	if !errors.Is(err, ErrAuthentication) {
		t.Fatalf("Dial: %v, want ErrAuthentication", err)
	}
	err = <-errc
	var he *HandshakeError
	if !errors.As(err, &he) || !errors.Is(err, ErrAuthentication) {
		t.Fatalf("Accept: %v, want a *HandshakeError wrapping ErrAuthentication", err)
	}
}

// A client that does not speak TLS fails its handshake; a silent one is
// still connected, and neither delays a TLS client.
func TestTLSPlainClientRejected(t *testing.T) {
	ctx := testCtx(t)
	pki := newTestPKI(t, "plain")
	key := []byte("k")
	l, err := Listen("127.0.0.1:0", &ListenOptions{
		TLSConfig:        pki.serverConfig(),
		AuthKey:          key,
		HandshakeTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	// A silent plain client, connected for the whole test.
	silent, err := net.Dial("tcp", l.Address())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	// A plain mpconn client that sends a message at once (no AuthKey).
	plainErr := make(chan error, 1)
	go func() {
		c, err := Dial(ctx, l.Address(), nil)
		if err != nil {
			plainErr <- err
			return
		}
		defer c.Close()
		if err := c.SendBytes(ctx, []byte("hello in clear")); err != nil {
			plainErr <- err
			return
		}
		_, err = c.RecvBytes(ctx)
		plainErr <- err
	}()

	var wg sync.WaitGroup
	served := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := Dial(ctx, l.Address(), &DialOptions{TLSConfig: pki.clientConfig(), AuthKey: key})
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		if err := c.SendBytes(ctx, []byte("good")); err != nil {
			t.Error(err)
			return
		}
		if m, err := c.RecvBytes(ctx); err != nil || string(m) != "good" {
			t.Errorf("echo: %q, %v", m, err)
		}
		close(served)
	}()

	var handshakeErrs int
	for got := false; !got; {
		c, err := l.Accept(ctx)
		var he *HandshakeError
		switch {
		case errors.As(err, &he):
			handshakeErrs++
			continue
		case err != nil:
			t.Fatal(err)
		}
		got = true
		m, err := c.RecvBytes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c.SendBytes(ctx, m)
		defer c.Close()
	}
	select {
	case <-served:
	case <-ctx.Done():
		t.Fatal("the TLS client was not served")
	}
	wg.Wait()
	// The plain sender's handshake fails (unless it had already failed
	// before the good client was accepted).
	if handshakeErrs == 0 {
		_, err := l.Accept(ctx)
		var he *HandshakeError
		if !errors.As(err, &he) {
			t.Fatalf("plain client: Accept returned %v, want a *HandshakeError", err)
		}
	}
	if err := <-plainErr; err == nil {
		t.Fatal("the plain client got a reply")
	}
	// The silent client is still waiting in its handshake: it was never
	// accepted, and never timed out (HandshakeTimeout is a minute).
	silent.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	var b [1]byte
	if _, err := silent.Read(b[:]); !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
		t.Fatalf("silent client: %v, want a read timeout (still connected)", err)
	}
}

// tlsPair returns both ends of a TLS connection through a Listener.
func tlsPair(t *testing.T, ctx context.Context) (server, client *Conn) {
	t.Helper()
	pki := newTestPKI(t, "pair")
	l, err := Listen("127.0.0.1:0", &ListenOptions{TLSConfig: pki.serverConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cc := make(chan *Conn, 1)
	go func() {
		c, err := Dial(ctx, l.Address(), &DialOptions{TLSConfig: pki.clientConfig()})
		if err != nil {
			t.Error(err)
		}
		cc <- c
	}()
	s, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := <-cc
	if c == nil {
		s.Close()
		t.FailNow()
	}
	t.Cleanup(func() { s.Close(); c.Close() })
	return s, c
}

// The Conn's promise for a cancelled send (the rest of the message goes
// out before the next one) over TLS.
//
// Fails at the time of writing: a write deadline (how a cancelled send
// interrupts the write) leaves a crypto/tls connection permanently
// broken ("tls: ... write ... i/o timeout" on every later write), so the
// rest of the message can never be written and the peer waits for it
// forever. The library must either not interrupt TLS writes part way
// through a record stream, or mark the Conn unwritable and document that
// a cancelled send on TLS ends the connection.
func TestTLSCancelledSendKeepsFraming(t *testing.T) {
	ctx := testCtx(t)
	a, b := tlsPair(t, ctx)
	big := make([]byte, 16<<20) // larger than the socket buffers
	for i := range big {
		big[i] = byte(i % 253)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err := a.SendBytes(cctx, big)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send with nobody reading: %v, want a deadline error", err)
	}
	type result struct {
		msgs [][]byte
		err  error
	}
	recvd := make(chan result, 1)
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	go func() {
		var r result
		for range 2 {
			m, err := b.RecvBytes(rctx)
			if err != nil {
				r.err = err
				break
			}
			r.msgs = append(r.msgs, m)
		}
		recvd <- r
	}()
	if err := a.SendBytes(ctx, []byte("second")); err != nil {
		// The receiver would wait for the rest of the first message
		// forever.
		t.Fatalf("the send after a cancelled one failed: %v: the rest of the first message is lost and the peer is left mid-message", err)
	}
	r := <-recvd
	if r.err != nil || len(r.msgs) != 2 || !bytes.Equal(r.msgs[0], big) || string(r.msgs[1]) != "second" {
		t.Fatalf("received %d messages, %v", len(r.msgs), r.err)
	}
}

// A cancelled receive over TLS keeps its place in the stream, as on any
// other transport.
func TestTLSCancelledRecvKeepsFraming(t *testing.T) {
	ctx := testCtx(t)
	a, b := tlsPair(t, ctx)
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := b.RecvBytes(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("receive with nothing sent: %v", err)
	}
	if ok, err := b.Poll(ctx, 0); ok || err != nil {
		t.Fatalf("Poll(0) with nothing sent: %v %v", ok, err)
	}
	if err := a.SendBytes(ctx, []byte("after the cancel")); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Poll(ctx, -1); !ok || err != nil {
		t.Fatalf("Poll(-1): %v %v", ok, err)
	}
	if m, err := b.RecvBytes(ctx); err != nil || string(m) != "after the cancel" {
		t.Fatalf("got %q, %v", m, err)
	}
}

// SendBytesMany over TLS, where a cancelled write cannot be resumed: the
// messages arrive one by one, and a cancelled call still leaves the
// stream in step (the message it cut is finished in the background, the
// ones after it are not sent).
func TestTLSSendBytesMany(t *testing.T) {
	ctx := testCtx(t)
	a, b := tlsPair(t, ctx)
	big := bytes.Repeat([]byte{7}, 16<<20) // larger than the socket buffers
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	n, err := a.SendBytesMany(cctx, big, []byte("not sent"))
	if n != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SendBytesMany with nobody reading: %d, %v; want 0 and a deadline error", n, err)
	}
	msgs := [][]byte{[]byte("one"), bytes.Repeat([]byte{9}, 100000), nil, []byte("four")}
	sent := make(chan error, 1)
	go func() {
		n, err := a.SendBytesMany(ctx, msgs...)
		if err == nil && n != len(msgs) {
			err = fmt.Errorf("SendBytesMany sent %d of %d", n, len(msgs))
		}
		sent <- err
	}()
	for i, want := range append([][]byte{big}, msgs...) {
		got, err := b.RecvBytes(ctx)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("message %d: %d bytes, %v; want %d bytes", i, len(got), err, len(want))
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}
