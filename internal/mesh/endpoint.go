package mesh

import (
	"bufio"
	"context"
	"crypto/mlkem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/flynn/noise"

	"github.com/weftos/weftos/internal/identity"
)

// cipherSuite is the Noise suite of every link.
var cipherSuite = noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashBLAKE2s)

// protocolName starts the prologue.
const protocolName = "weftos-mesh/v1"

// Defaults.
const (
	DefaultMaxMessage       = 64 << 20
	DefaultRekeyRecords     = 1 << 20
	DefaultRekeyInterval    = 2 * time.Minute
	DefaultHandshakeTimeout = 10 * time.Second
)

// Observer is told about handshakes: refusals (either side's) and links
// established, so that the layer above can record them. Its methods must
// not block for long.
type Observer interface {
	Refused(Refusal)
	Linked(p Peer, initiator bool)
}

// Refusal describes a refused handshake.
type Refusal struct {
	Addr string
	// NodeID is set once the peer authenticated (not admitted, say).
	NodeID string
	Code   RefuseCode
	// ByPeer: the peer refused this endpoint (otherwise this endpoint
	// refused the peer).
	ByPeer    bool
	Initiator bool
	Err       error
}

// Config configures an Endpoint.
type Config struct {
	// Identity is the node's identity; it signs the Noise static key.
	Identity *identity.Identity
	// Admit decides whether an authenticated peer may link; nil admits
	// every authenticated peer. Its error is wrapped in ErrNotAdmitted.
	Admit func(Peer) error
	// AllowClassical accepts (and offers, with Classical) links without
	// ML-KEM. Off by default: a classical-only peer is refused.
	AllowClassical bool
	// Classical makes this endpoint initiate with the classical suite (a
	// peer without ML-KEM). It needs AllowClassical.
	Classical bool
	// MaxMessage bounds one message (default DefaultMaxMessage).
	MaxMessage int
	// RekeyRecords and RekeyInterval: each direction rekeys after so many
	// records or so much time, whichever comes first.
	RekeyRecords  uint64
	RekeyInterval time.Duration
	// HandshakeTimeout bounds a handshake whose context has no deadline.
	HandshakeTimeout time.Duration
	Observer         Observer
	Logger           *slog.Logger
	// Now is the clock for rekey intervals (default time.Now).
	Now func() time.Time
}

// Endpoint is a node's side of the mesh: its identity, a Noise static key
// for its lifetime and the certificate binding the two. It is safe for
// concurrent use and owns no goroutines.
type Endpoint struct {
	cfg    Config
	static noise.DHKey
	cert   []byte
	certs  certCache
}

// NewEndpoint generates the endpoint's Noise static key and signs it with
// the node identity (once: handshakes only verify).
func NewEndpoint(cfg Config) (*Endpoint, error) {
	if cfg.Identity == nil || cfg.Identity.Ed25519 == nil || cfg.Identity.MLDSA65 == nil {
		return nil, errors.New("mesh: an endpoint needs the node identity")
	}
	if cfg.Classical && !cfg.AllowClassical {
		return nil, fmt.Errorf("%w: Classical needs AllowClassical", ErrClassical)
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = DefaultMaxMessage
	}
	if cfg.RekeyRecords == 0 {
		cfg.RekeyRecords = DefaultRekeyRecords
	}
	if cfg.RekeyInterval <= 0 {
		cfg.RekeyInterval = DefaultRekeyInterval
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	static, err := cipherSuite.GenerateKeypair(nil)
	if err != nil {
		return nil, fmt.Errorf("mesh: static key: %w", err)
	}
	cert, err := signCert(cfg.Identity, static.Public)
	if err != nil {
		return nil, err
	}
	return &Endpoint{cfg: cfg, static: static, cert: cert}, nil
}

// NodeID returns the endpoint's node id.
func (e *Endpoint) NodeID() string { return e.cfg.Identity.NodeID }

// Dial connects to addr over tr and runs the handshake as initiator.
// expect, when not empty, is the node id that must answer.
func (e *Endpoint) Dial(ctx context.Context, tr Transport, addr, expect string) (*Link, error) {
	conn, err := tr.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	l, err := e.Client(ctx, conn, expect)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return l, nil
}

// prologue binds the protocol, its version and the suite (and so the KEM
// choice) into the handshake hash.
func prologue(h hello) []byte {
	p := append([]byte(protocolName), 0, h.Version, byte(h.Suite))
	return append(p, h.Suite.kemName()...)
}

func (e *Endpoint) handshakeState(initiator bool, h hello) (*noise.HandshakeState, error) {
	nc := noise.Config{CipherSuite: cipherSuite, Pattern: noise.HandshakeXX, Initiator: initiator,
		Prologue: prologue(h), StaticKeypair: e.static}
	if h.Suite == SuiteHybrid {
		nc.PresharedKeyPlacement = 3 // set once the KEM secret is known
	}
	return noise.NewHandshakeState(nc)
}

// hsConn is a connection during the handshake.
type hsConn struct {
	conn net.Conn
	br   *bufio.Reader
	buf  []byte
}

func (c *hsConn) write(frames ...[2][]byte) error {
	var b []byte
	for _, f := range frames {
		var err error
		if b, err = appendFrame(b, f[0][0], f[1]); err != nil {
			return err
		}
	}
	_, err := c.conn.Write(b)
	return err
}

func (c *hsConn) read() (byte, []byte, error) {
	typ, body, err := readFrame(c.br, c.buf)
	if err == nil {
		c.buf = body[:0]
	}
	return typ, body, err
}

// frame pairs a frame type with its body for hsConn.write.
func frame(typ byte, body []byte) [2][]byte { return [2][]byte{{typ}, body} }

// watchDeadline applies ctx (its deadline, or def from now when it has
// none, and its cancellation) to set until the returned stop is called.
func watchDeadline(ctx context.Context, set func(time.Time) error, def time.Duration) (stop func()) {
	if dl, ok := ctx.Deadline(); ok {
		_ = set(dl)
	} else if def > 0 {
		_ = set(time.Now().Add(def))
	} else {
		_ = set(time.Time{})
	}
	done := make(chan struct{})
	cancel := context.AfterFunc(ctx, func() {
		defer close(done)
		_ = set(time.Unix(1, 0))
	})
	return func() {
		if !cancel() {
			<-done
		}
	}
}

// ctxErr prefers the context's error when the context ended.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}

// refuse sends a REFUSE frame (best effort), reports the refusal and
// returns err.
func (e *Endpoint) refuse(c *hsConn, initiator bool, nodeID string, code RefuseCode, err error) error {
	_ = c.write(frame(frameRefuse, refusal{Code: code, Reason: err.Error()}.body()))
	e.observeRefusal(Refusal{Addr: c.conn.RemoteAddr().String(), NodeID: nodeID, Code: code, Initiator: initiator, Err: err})
	return err
}

func (e *Endpoint) observeRefusal(r Refusal) {
	e.cfg.Logger.Info("mesh: handshake refused", "addr", r.Addr, "node", r.NodeID, "code", r.Code.String(), "by_peer", r.ByPeer, "err", r.Err)
	if e.cfg.Observer != nil {
		e.cfg.Observer.Refused(r)
	}
}

// peerRefused turns a REFUSE frame body into an error and reports it.
func (e *Endpoint) peerRefused(c *hsConn, initiator bool, body []byte) error {
	r, err := parseRefusal(body)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	err = fmt.Errorf("%w: %w: %s: %s", ErrHandshake, ErrRefusedByPeer, r.Code, r.Reason)
	e.observeRefusal(Refusal{Addr: c.conn.RemoteAddr().String(), Code: r.Code, ByPeer: true, Initiator: initiator, Err: err})
	return err
}

// admit checks an authenticated peer against expect and Admit.
func (e *Endpoint) admit(p Peer, expect string) error {
	if expect != "" && p.NodeID != expect {
		return fmt.Errorf("%w: %w: %s answered, %s was dialled", ErrHandshake, ErrNotAdmitted, p.NodeID, expect)
	}
	if p.NodeID == e.NodeID() {
		return fmt.Errorf("%w: %w: a link to itself", ErrHandshake, ErrNotAdmitted)
	}
	if e.cfg.Admit != nil {
		if err := e.cfg.Admit(p); err != nil {
			return fmt.Errorf("%w: %w: %s: %w", ErrHandshake, ErrNotAdmitted, p.NodeID, err)
		}
	}
	return nil
}

// Client runs the handshake as initiator over conn. On success the link
// owns conn; on failure the caller closes it.
func (e *Endpoint) Client(ctx context.Context, conn net.Conn, expect string) (*Link, error) {
	stop := watchDeadline(ctx, conn.SetDeadline, e.cfg.HandshakeTimeout)
	defer stop()
	l, err := e.client(conn, expect)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	return l, nil
}

func (e *Endpoint) client(conn net.Conn, expect string) (*Link, error) {
	c := &hsConn{conn: conn, br: bufio.NewReaderSize(conn, maxFrameBody+3)}
	h := hello{Version: Version, Suite: SuiteHybrid}
	if e.cfg.Classical {
		h.Suite = SuiteClassical
	}
	hs, err := e.handshakeState(true, h)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	var dk *mlkem.DecapsulationKey768
	var payload1 []byte
	if h.Suite == SuiteHybrid {
		if dk, err = mlkem.GenerateKey768(); err != nil {
			return nil, fmt.Errorf("%w: ML-KEM key: %w", ErrHandshake, err)
		}
		payload1 = dk.EncapsulationKey().Bytes()
	}
	msg1, _, _, err := hs.WriteMessage(nil, payload1)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	if err := c.write(frame(frameHello, h.body()), frame(frameHandshake, msg1)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	typ, body, err := c.read()
	if err != nil {
		return nil, fmt.Errorf("%w: reading message 2: %w", ErrHandshake, err)
	}
	switch typ {
	case frameRefuse:
		return nil, e.peerRefused(c, true, body)
	case frameHandshake:
	default:
		return nil, e.refuse(c, true, "", RefuseHandshake, fmt.Errorf("%w: %w: frame 0x%02x where message 2 belongs", ErrHandshake, ErrFrame, typ))
	}
	payload2, _, _, err := hs.ReadMessage(nil, body)
	if err != nil {
		return nil, e.refuse(c, true, "", RefuseHandshake, fmt.Errorf("%w: message 2: %w", ErrHandshake, err))
	}
	cert := payload2
	if h.Suite == SuiteHybrid {
		if len(payload2) < mlkem.CiphertextSize768 {
			return nil, e.refuse(c, true, "", RefuseHandshake, fmt.Errorf("%w: message 2 payload of %d bytes has no ML-KEM ciphertext", ErrHandshake, len(payload2)))
		}
		ss, err := dk.Decapsulate(payload2[:mlkem.CiphertextSize768])
		if err != nil {
			return nil, e.refuse(c, true, "", RefuseHandshake, fmt.Errorf("%w: ML-KEM ciphertext: %w", ErrHandshake, err))
		}
		if err := hs.SetPresharedKey(ss); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
		}
		cert = payload2[mlkem.CiphertextSize768:]
	}
	peer, err := e.certs.verify(cert, hs.PeerStatic())
	if err != nil {
		return nil, e.refuse(c, true, "", RefuseBadCert, fmt.Errorf("%w: %w", ErrHandshake, err))
	}
	peer.Suite, peer.Addr = h.Suite, conn.RemoteAddr().String()
	if err := e.admit(peer, expect); err != nil {
		return nil, e.refuse(c, true, peer.NodeID, RefuseNotAdmitted, err)
	}
	msg3, send, recv, err := hs.WriteMessage(nil, e.cert)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	if err := c.write(frame(frameHandshake, msg3)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	// The responder confirms with an empty record under its sending key
	// (or refuses).
	typ, body, err = c.read()
	if err != nil {
		return nil, fmt.Errorf("%w: reading the confirmation: %w", ErrHandshake, err)
	}
	switch typ {
	case frameRefuse:
		return nil, e.peerRefused(c, true, body)
	case frameFinished:
	default:
		return nil, fmt.Errorf("%w: %w: frame 0x%02x where the confirmation belongs", ErrHandshake, ErrFrame, typ)
	}
	if _, err := recv.Decrypt(nil, nil, body); err != nil {
		return nil, fmt.Errorf("%w: the confirmation does not authenticate: %w", ErrHandshake, err)
	}
	return e.linked(c, peer, true, send, recv), nil
}

// Server runs the handshake as responder over conn. On success the link
// owns conn; on failure the caller closes it.
func (e *Endpoint) Server(ctx context.Context, conn net.Conn) (*Link, error) {
	stop := watchDeadline(ctx, conn.SetDeadline, e.cfg.HandshakeTimeout)
	defer stop()
	l, err := e.server(conn)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	return l, nil
}

func (e *Endpoint) server(conn net.Conn) (*Link, error) {
	c := &hsConn{conn: conn, br: bufio.NewReaderSize(conn, maxFrameBody+3)}
	typ, body, err := c.read()
	if err != nil {
		return nil, fmt.Errorf("%w: reading hello: %w", ErrHandshake, err)
	}
	if typ != frameHello {
		return nil, e.refuse(c, false, "", RefuseHandshake, fmt.Errorf("%w: %w: frame 0x%02x where hello belongs", ErrHandshake, ErrFrame, typ))
	}
	h, err := parseHello(body)
	if err != nil {
		return nil, e.refuse(c, false, "", RefuseHandshake, fmt.Errorf("%w: %w", ErrHandshake, err))
	}
	if h.Version != Version {
		return nil, e.refuse(c, false, "", RefuseVersion, fmt.Errorf("%w: %w: %d (this node speaks %d)", ErrHandshake, ErrVersion, h.Version, Version))
	}
	switch h.Suite {
	case SuiteHybrid:
	case SuiteClassical:
		if !e.cfg.AllowClassical {
			return nil, e.refuse(c, false, "", RefuseSuite, fmt.Errorf("%w: %w: the peer offers no ML-KEM", ErrHandshake, ErrClassical))
		}
	default:
		return nil, e.refuse(c, false, "", RefuseSuite, fmt.Errorf("%w: %w: %d", ErrHandshake, ErrUnknownSuite, h.Suite))
	}
	hs, err := e.handshakeState(false, h)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	if typ, body, err = c.read(); err != nil {
		return nil, fmt.Errorf("%w: reading message 1: %w", ErrHandshake, err)
	}
	if typ != frameHandshake {
		return nil, e.refuse(c, false, "", RefuseHandshake, fmt.Errorf("%w: %w: frame 0x%02x where message 1 belongs", ErrHandshake, ErrFrame, typ))
	}
	payload1, _, _, err := hs.ReadMessage(nil, body)
	if err != nil {
		return nil, e.refuse(c, false, "", RefuseHandshake, fmt.Errorf("%w: message 1: %w", ErrHandshake, err))
	}
	var payload2 []byte
	if h.Suite == SuiteHybrid {
		ek, err := mlkem.NewEncapsulationKey768(payload1)
		if err != nil {
			return nil, e.refuse(c, false, "", RefuseHandshake, fmt.Errorf("%w: ML-KEM encapsulation key: %w", ErrHandshake, err))
		}
		ss, ct := ek.Encapsulate()
		if err := hs.SetPresharedKey(ss); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
		}
		payload2 = append(ct, e.cert...)
	} else {
		if len(payload1) != 0 {
			return nil, e.refuse(c, false, "", RefuseHandshake, fmt.Errorf("%w: classical message 1 carries %d payload bytes", ErrHandshake, len(payload1)))
		}
		payload2 = e.cert
	}
	msg2, _, _, err := hs.WriteMessage(nil, payload2)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	if err := c.write(frame(frameHandshake, msg2)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	if typ, body, err = c.read(); err != nil {
		return nil, fmt.Errorf("%w: reading message 3: %w", ErrHandshake, err)
	}
	switch typ {
	case frameRefuse:
		return nil, e.peerRefused(c, false, body)
	case frameHandshake:
	default:
		return nil, e.refuse(c, false, "", RefuseHandshake, fmt.Errorf("%w: %w: frame 0x%02x where message 3 belongs", ErrHandshake, ErrFrame, typ))
	}
	cert, recv, send, err := hs.ReadMessage(nil, body)
	if err != nil {
		return nil, e.refuse(c, false, "", RefuseHandshake, fmt.Errorf("%w: message 3: %w", ErrHandshake, err))
	}
	peer, err := e.certs.verify(cert, hs.PeerStatic())
	if err != nil {
		return nil, e.refuse(c, false, "", RefuseBadCert, fmt.Errorf("%w: %w", ErrHandshake, err))
	}
	peer.Suite, peer.Addr = h.Suite, conn.RemoteAddr().String()
	if err := e.admit(peer, ""); err != nil {
		return nil, e.refuse(c, false, peer.NodeID, RefuseNotAdmitted, err)
	}
	confirm, err := send.Encrypt(nil, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	if err := c.write(frame(frameFinished, confirm)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	return e.linked(c, peer, false, send, recv), nil
}

func (e *Endpoint) linked(c *hsConn, p Peer, initiator bool, send, recv *noise.CipherState) *Link {
	if e.cfg.Observer != nil {
		e.cfg.Observer.Linked(p, initiator)
	}
	if p.Suite == SuiteClassical {
		e.cfg.Logger.Warn("mesh: classical link (no ML-KEM)", "node", p.NodeID, "addr", p.Addr)
	}
	return newLink(c.conn, c.br, p, e.cfg, send, recv)
}
