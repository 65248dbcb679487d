package mesh

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// FuzzFrames: the pre-transport frame, hello, refusal and record decoders
// never panic, and what they accept re-encodes to the same bytes.
func FuzzFrames(f *testing.F) {
	b, _ := appendFrame(nil, frameHello, hello{Version: 1, Suite: SuiteHybrid}.body())
	b, _ = appendFrame(b, frameRefuse, refusal{Code: RefuseSuite, Reason: "no"}.body())
	f.Add(b)
	f.Add([]byte{recEnd, 'x'})
	f.Add([]byte{frameHandshake, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		for rest := data; len(rest) > 0; {
			typ, body, r, err := parseFrame(rest)
			if err != nil {
				break
			}
			re, err := appendFrame(nil, typ, body)
			if err != nil || !bytes.Equal(re, rest[:len(rest)-len(r)]) {
				t.Fatalf("frame does not round-trip: %x", rest[:len(rest)-len(r)])
			}
			if h, err := parseHello(body); err == nil && !bytes.Equal(h.body(), body) {
				t.Fatalf("hello does not round-trip: %x", body)
			}
			if rf, err := parseRefusal(body); err == nil && !bytes.Equal(rf.body(), body) {
				t.Fatalf("refusal does not round-trip: %x", body)
			}
			rest = r
		}
		if typ, d, err := parseRecord(data); err == nil {
			if typ > recClose || (typ >= recRekey && len(d) != 0) {
				t.Fatalf("accepted record type %d with %d bytes", typ, len(d))
			}
		}
		_, _ = verifyCert(data, make([]byte, 32))
	})
}

// streamConn is a net.Conn that reads a fixed stream and discards writes.
type streamConn struct {
	r  io.Reader
	mu sync.Mutex
	w  bytes.Buffer
}

func (c *streamConn) Read(b []byte) (int, error) { return c.r.Read(b) }
func (c *streamConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.w.Write(b)
}
func (c *streamConn) Close() error                     { return nil }
func (c *streamConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *streamConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }

// firstFlight is a real initiator's hello and message 1.
func firstFlight(tb testing.TB, e *Endpoint) []byte {
	c := &streamConn{r: bytes.NewReader(nil)}
	_, _ = e.client(c, "")
	return c.w.Bytes()
}

// FuzzServerHandshake feeds arbitrary bytes to a responder: it must fail
// cleanly (never panic, never link) on anything but a real initiator.
func FuzzServerHandshake(f *testing.F) {
	server := newEndpoint(f, Config{})
	client := newEndpoint(f, Config{})
	flight := firstFlight(f, client)
	f.Add(flight)
	f.Add(flight[:5])
	f.Add(append(bytes.Clone(flight), frameHandshake, 0, 4, 1, 2, 3, 4))
	f.Add([]byte{frameHello, 0, 2, 1, 2, frameHandshake, 0, 32})
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := server.server(&streamConn{r: bytes.NewReader(data)})
		if err == nil {
			l.Close()
			t.Fatal("a link from a fuzzed stream")
		}
	})
}

// FuzzClientHandshake feeds arbitrary answers to an initiator.
func FuzzClientHandshake(f *testing.F) {
	client := newEndpoint(f, Config{})
	b, _ := appendFrame(nil, frameRefuse, refusal{Code: RefuseNotAdmitted, Reason: "x"}.body())
	f.Add(b)
	f.Add(append([]byte{frameHandshake, 0x10, 0x00}, make([]byte, 0x1000)...))
	f.Add([]byte{frameFinished, 0, 16})
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := client.client(&streamConn{r: bytes.NewReader(data)}, "")
		if err == nil {
			l.Close()
			t.Fatal("a link from a fuzzed stream")
		}
	})
}
