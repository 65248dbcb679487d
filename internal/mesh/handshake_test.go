package mesh

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

func TestHybridHandshake(t *testing.T) {
	var cobs, sobs recorder
	client := newEndpoint(t, Config{Observer: &cobs})
	server := newEndpoint(t, Config{Observer: &sobs})
	cl, sl, cerr, serr := pair(t, client, server, server.NodeID(), nil)
	if cerr != nil || serr != nil {
		t.Fatalf("client %v, server %v", cerr, serr)
	}
	defer closeLinks(cl, sl)
	if got := cl.Peer(); got.NodeID != server.NodeID() || got.Suite != SuiteHybrid {
		t.Errorf("client sees %s (%s), want %s hybrid", got.NodeID, got.Suite, server.NodeID())
	}
	if got := sl.Peer(); got.NodeID != client.NodeID() || got.Suite != SuiteHybrid {
		t.Errorf("server sees %s (%s), want %s hybrid", got.NodeID, got.Suite, client.NodeID())
	}
	if _, l := cobs.snapshot(); len(l) != 1 {
		t.Errorf("client observer saw %d links", len(l))
	}
	ctx := context.Background()
	for _, msg := range [][]byte{{}, []byte("hello"), bytes.Repeat([]byte{7}, maxRecordData), bytes.Repeat([]byte{8}, maxRecordData+1), bytes.Repeat([]byte("abc"), 1<<20)} {
		if err := cl.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		got, err := sl.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("server received %d bytes, want %d", len(got), len(msg))
		}
		if err := sl.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if got, err = cl.Recv(ctx); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("client received %d bytes (%v), want %d", len(got), err, len(msg))
		}
	}
}

// TestRefusals: each way a handshake must fail, failing on both sides,
// with the refusal reported.
func TestRefusals(t *testing.T) {
	stranger := newIdentity(t)
	for _, tc := range []struct {
		name           string
		client, server Config
		expect         string // "" or "server" or a node id
		clientErr      error
		serverErr      error
		code           RefuseCode
	}{
		{name: "unknown key", server: Config{Admit: func(p Peer) error { return errors.New("not a member") }},
			clientErr: ErrRefusedByPeer, serverErr: ErrNotAdmitted, code: RefuseNotAdmitted},
		{name: "client refuses an unknown server", client: Config{Admit: func(p Peer) error { return errors.New("not a member") }},
			clientErr: ErrNotAdmitted, serverErr: ErrRefusedByPeer, code: RefuseNotAdmitted},
		{name: "another node answers", expect: stranger.NodeID, clientErr: ErrNotAdmitted, serverErr: ErrRefusedByPeer, code: RefuseNotAdmitted},
		{name: "classical-only peer", client: Config{AllowClassical: true, Classical: true},
			clientErr: ErrRefusedByPeer, serverErr: ErrClassical, code: RefuseSuite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cobs, sobs recorder
			tc.client.Observer, tc.server.Observer = &cobs, &sobs
			client, server := newEndpoint(t, tc.client), newEndpoint(t, tc.server)
			cl, sl, cerr, serr := pair(t, client, server, tc.expect, nil)
			defer closeLinks(cl, sl)
			if !errors.Is(cerr, tc.clientErr) || !errors.Is(cerr, ErrHandshake) {
				t.Errorf("client: %v, want %v", cerr, tc.clientErr)
			}
			if !errors.Is(serr, tc.serverErr) || !errors.Is(serr, ErrHandshake) {
				t.Errorf("server: %v, want %v", serr, tc.serverErr)
			}
			cr, clinks := cobs.snapshot()
			sr, slinks := sobs.snapshot()
			if len(clinks)+len(slinks) != 0 {
				t.Errorf("links reported: %v %v", clinks, slinks)
			}
			if len(cr) != 1 || len(sr) != 1 || cr[0].Code != tc.code || sr[0].Code != tc.code || cr[0].ByPeer == sr[0].ByPeer {
				t.Errorf("refusals: client %+v, server %+v; want code %s once on each side", cr, sr, tc.code)
			}
		})
	}
}

func TestClassicalAllowed(t *testing.T) {
	var sobs recorder
	client := newEndpoint(t, Config{AllowClassical: true, Classical: true})
	server := newEndpoint(t, Config{AllowClassical: true, Observer: &sobs})
	cl, sl, cerr, serr := pair(t, client, server, "", nil)
	if cerr != nil || serr != nil {
		t.Fatalf("client %v, server %v", cerr, serr)
	}
	defer closeLinks(cl, sl)
	if cl.Peer().Suite != SuiteClassical || sl.Peer().Suite != SuiteClassical {
		t.Errorf("suites %s / %s", cl.Peer().Suite, sl.Peer().Suite)
	}
	if _, links := sobs.snapshot(); len(links) != 1 || links[0].Suite != SuiteClassical {
		t.Errorf("the classical link was not reported: %+v", links)
	}
	if _, err := NewEndpoint(Config{Identity: newIdentity(t), Classical: true}); !errors.Is(err, ErrClassical) {
		t.Errorf("Classical without AllowClassical: %v", err)
	}
}

// tamperConn flips one byte of the stream the client writes (at offset
// write) or reads (at offset read).
type tamperConn struct {
	net.Conn
	mu          sync.Mutex
	write, read int // -1: none
	wn, rn      int
}

func (c *tamperConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if c.write >= c.wn && c.write < c.wn+len(b) {
		b = bytes.Clone(b)
		b[c.write-c.wn] ^= 0x20
	}
	c.wn += len(b)
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *tamperConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	if c.read >= c.rn && c.read < c.rn+n {
		b[c.read-c.rn] ^= 0x20
	}
	c.rn += n
	c.mu.Unlock()
	return n, err
}

// TestTamperedHandshake flips one byte at many places of the handshake,
// in each direction: no link may result, on either side.
func TestTamperedHandshake(t *testing.T) {
	client, server := newEndpoint(t, Config{}), newEndpoint(t, Config{})
	handshakeWait = time.Second
	defer func() { handshakeWait = 10 * time.Second }()
	// Client writes: hello frame (5 bytes), message 1 frame (3 + 32 +
	// 1184), message 3 frame. Client reads: message 2 frame, finished.
	const hello, msg1, msg2 = 5, 3 + 32 + 1184, 3 + 32 + 48 + 1088 + certSize + 16
	writes := []int{0, 1, 3, 4, hello, hello + 3, hello + 10, hello + 3 + 32 + 5, hello + msg1 - 1,
		hello + msg1 + 3, hello + msg1 + 3 + 40, hello + msg1 + 3 + 48 + 100, hello + msg1 + 3 + 48 + certSize + 10}
	reads := []int{0, 3, 10, 3 + 32 + 5, 3 + 32 + 48 + 500, 3 + 32 + 48 + 1088 + 2000, msg2 - 1, msg2 + 3, msg2 + 3 + 15}
	run := func(t *testing.T, w, r int) {
		cl, sl, cerr, serr := pair(t, client, server, "", func(c net.Conn) net.Conn { return &tamperConn{Conn: c, write: w, read: r} })
		defer closeLinks(cl, sl)
		if cerr == nil {
			t.Errorf("tampered at write %d, read %d: the client established a link", w, r)
		} else if !errors.Is(cerr, ErrHandshake) {
			t.Errorf("client error %v is not a handshake error", cerr)
		}
		if serr == nil && cerr == nil {
			t.Errorf("tampered at write %d, read %d: both sides linked", w, r)
		}
	}
	for _, w := range writes {
		run(t, w, -1)
	}
	for _, r := range reads {
		run(t, -1, r)
	}
}

func TestMessageTooLarge(t *testing.T) {
	client := newEndpoint(t, Config{})
	server := newEndpoint(t, Config{MaxMessage: 1000})
	cl, sl, cerr, serr := pair(t, client, server, "", nil)
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	defer closeLinks(cl, sl)
	ctx := context.Background()
	if err := sl.Send(ctx, make([]byte, 1001)); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("sending over the bound: %v", err)
	}
	if err := cl.Send(ctx, make([]byte, 100_000)); err != nil {
		t.Fatal(err)
	}
	if _, err := sl.Recv(ctx); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("receiving over the bound: %v", err)
	}
	if _, err := sl.Recv(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("after an oversized message the link must be closed: %v", err)
	}
}

// fakeNow is a settable clock.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeNow) add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

func TestRekey(t *testing.T) {
	clk := &fakeNow{t: time.Unix(1_700_000_000, 0)}
	client := newEndpoint(t, Config{RekeyRecords: 3, Now: clk.now})
	server := newEndpoint(t, Config{RekeyInterval: time.Minute, Now: clk.now})
	cl, sl, cerr, serr := pair(t, client, server, "", nil)
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	defer closeLinks(cl, sl)
	ctx := context.Background()
	for i := range 20 {
		msg := bytes.Repeat([]byte{byte(i)}, i*10_000)
		if err := cl.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if got, err := sl.Recv(ctx); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("message %d: %v", i, err)
		}
		clk.add(20 * time.Second)
		if err := sl.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if got, err := cl.Recv(ctx); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
	cs, ss := cl.Stats(), sl.Stats()
	if cs.RekeysSent.Load() < 5 || ss.RekeysReceived.Load() != cs.RekeysSent.Load() {
		t.Errorf("client rekeyed %d times, the server saw %d", cs.RekeysSent.Load(), ss.RekeysReceived.Load())
	}
	if ss.RekeysSent.Load() < 5 || cs.RekeysReceived.Load() != ss.RekeysSent.Load() {
		t.Errorf("server rekeyed %d times (interval), the client saw %d", ss.RekeysSent.Load(), cs.RekeysReceived.Load())
	}
}

// captureConn keeps every byte written and read.
type captureConn struct {
	net.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *captureConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.buf.Write(b)
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *captureConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.buf.Write(b[:n])
	c.mu.Unlock()
	return n, err
}

// TestCaptureHasNoPlaintext: a capture of a link's traffic, both ways,
// handshake included, never contains the payload.
func TestCaptureHasNoPlaintext(t *testing.T) {
	client, server := newEndpoint(t, Config{}), newEndpoint(t, Config{})
	var cap *captureConn
	cl, sl, cerr, serr := pair(t, client, server, "", func(c net.Conn) net.Conn { cap = &captureConn{Conn: c}; return cap })
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	defer closeLinks(cl, sl)
	marker := []byte("WEFTOS-PLAINTEXT-MARKER-7d1f")
	ctx := context.Background()
	for _, n := range []int{1, 100, 3000} {
		msg := bytes.Repeat(marker, n)
		if err := cl.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if _, err := sl.Recv(ctx); err != nil {
			t.Fatal(err)
		}
		if err := sl.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Recv(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cap.mu.Lock()
	defer cap.mu.Unlock()
	if cap.buf.Len() < 3000*len(marker) {
		t.Fatalf("captured only %d bytes", cap.buf.Len())
	}
	for _, needle := range [][]byte{marker, marker[:8], []byte(server.NodeID()), []byte(client.NodeID())} {
		if bytes.Contains(cap.buf.Bytes(), needle) {
			t.Errorf("the capture contains %q", needle)
		}
	}
	// The node identities travel encrypted too.
	if bytes.Contains(cap.buf.Bytes(), client.cert[1:33]) || bytes.Contains(cap.buf.Bytes(), server.cert[1:33]) {
		t.Error("an Ed25519 identity key is visible in the capture")
	}
}

func TestConcurrentSendersAndCancel(t *testing.T) {
	client, server := newEndpoint(t, Config{}), newEndpoint(t, Config{})
	cl, sl, cerr, serr := pair(t, client, server, "", nil)
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	defer closeLinks(cl, sl)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				msg := bytes.Repeat([]byte{byte(g)}, 70_000+i)
				if err := cl.Send(ctx, msg); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 200 {
		msg, err := sl.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(msg) < 70_000 || !bytes.Equal(msg, bytes.Repeat(msg[:1], len(msg))) {
			t.Fatal("messages were interleaved")
		}
	}
	wg.Wait()
	// A Recv whose context ends closes the link.
	cctx, cancel := context.WithCancel(ctx)
	go cancel()
	if _, err := sl.Recv(cctx); !errors.Is(err, context.Canceled) || !errors.Is(err, ErrClosed) {
		t.Errorf("cancelled Recv: %v", err)
	}
	if _, err := cl.Recv(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("the peer of a closed link: %v", err)
	}
}

func TestListener(t *testing.T) {
	server := newEndpoint(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ln, err := server.Listen(ctx, TCP{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for range 3 {
		client := newEndpoint(t, Config{})
		cl, err := client.Dial(ctx, TCP{}, ln.Addr().String(), server.NodeID())
		if err != nil {
			t.Fatal(err)
		}
		sl, err := ln.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if sl.Peer().NodeID != client.NodeID() {
			t.Errorf("accepted %s, want %s", sl.Peer().NodeID, client.NodeID())
		}
		closeLinks(cl, sl)
	}
}
