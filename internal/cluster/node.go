package cluster

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftos/weftos/internal/identity"
	"github.com/weftos/weftos/internal/mesh"
)

// Admitter governs admissions a remote node asks this node for (the
// daemon plugs the authority pipeline in): Admit decides, runs admit when
// allowed and records its outcome; Refused records a join refused before
// it could be decided (bad, expired or replayed token, removed node).
type Admitter interface {
	Admit(ctx context.Context, req AdmitRequest, admit func(ctx context.Context) (Admission, error)) (Admission, error)
	Refused(ctx context.Context, req AdmitRequest, reason error)
}

// AdmitRequest describes a join asked of this node.
type AdmitRequest struct {
	Node    string // the joiner's node id
	Name    string
	Addr    string
	TokenID ID
}

// Events receives what the cluster observes that belongs on the audit
// chain: membership changes (MemberEvent, kind KindMember), refused
// handshakes and joins (RefusalEvent, KindRefusal) and classical links
// (LinkEvent, KindClassicalLink). It must not block for long.
type Events interface {
	Event(kind string, payload any)
}

// Event kinds.
const (
	KindMember        = "cluster.member"
	KindRefusal       = "mesh.refusal"
	KindClassicalLink = "mesh.classical_link"
)

// MemberEvent is a membership change.
type MemberEvent struct {
	Cluster string `json:"cluster"`
	Node    string `json:"node"`
	Name    string `json:"name,omitempty"`
	Addr    string `json:"addr,omitempty"`
	// State: admitted, alive, suspect, dead, left, removed.
	State  string `json:"state"`
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// RefusalEvent is a refused handshake or join.
type RefusalEvent struct {
	Addr       string `json:"addr"`
	Node       string `json:"node,omitempty"`
	Code       string `json:"code"`
	Reason     string `json:"reason"`
	ByPeer     bool   `json:"by_peer,omitempty"`
	Suppressed int    `json:"suppressed,omitempty"` // refusals not recorded since the previous one (rate limit)
}

// LinkEvent is a link established with the classical suite.
type LinkEvent struct {
	Node      string `json:"node"`
	Addr      string `json:"addr"`
	Suite     string `json:"suite"`
	Initiator bool   `json:"initiator"`
}

// Config configures a Node.
type Config struct {
	// StatePath is the file the node persists its cluster state to.
	StatePath string
	Identity  *identity.Identity
	Transport mesh.Transport // default mesh.TCP
	// AllowClassical accepts links without ML-KEM (recorded).
	AllowClassical bool
	Membership     MembershipConfig
	Admitter       Admitter
	Events         Events
	// Head returns this node's chain head, shown to peers.
	Head func() (size uint64, root string)
	// IPC receives cross-node IPC messages (stage of the daemon).
	IPC    func(ctx context.Context, from string, msg []byte) ([]byte, error)
	Logger *slog.Logger
	Now    func() time.Time
	// Mesh overrides link parameters (tests).
	Mesh mesh.Config
	// Replicated is the state machine of the cluster's Raft log (the
	// daemon's); Consensus tunes Raft; RaftDir holds its log and snapshots
	// (default: "raft" beside StatePath).
	Replicated Replicated
	Consensus  ConsensusConfig
	RaftDir    string
}

// MembershipConfig tunes SWIM failure detection (memberlist).
type MembershipConfig struct {
	ProbeInterval time.Duration // default 170ms
	ProbeTimeout  time.Duration // default 100ms
	// SuspicionMult scales the suspicion timeout (× log10(members) ×
	// ProbeInterval with confirmations, up to 6× that without): at 3 or
	// more memberlist waits for SuspicionMult−2 independent confirmations
	// before it shortens a suspicion (Lifeguard), so one node's lossy
	// link does not kill a peer; default 3.
	SuspicionMult  int
	GossipInterval time.Duration // default 50ms
	PushPull       time.Duration // default 15s
	// Rejoin is how often a node tries to rejoin members membership
	// declared dead (a healed partition, a restarted node); default 2s.
	Rejoin time.Duration
}

func (m *MembershipConfig) setDefaults() {
	if m.ProbeInterval <= 0 {
		m.ProbeInterval = 170 * time.Millisecond
	}
	if m.ProbeTimeout <= 0 {
		m.ProbeTimeout = 100 * time.Millisecond
	}
	if m.SuspicionMult <= 0 {
		m.SuspicionMult = 3
	}
	if m.GossipInterval <= 0 {
		m.GossipInterval = 50 * time.Millisecond
	}
	if m.PushPull <= 0 {
		m.PushPull = 15 * time.Second
	}
	if m.Rejoin <= 0 {
		m.Rejoin = 2 * time.Second
	}
}

// Node is this node's membership of a cluster (or of none yet). It owns
// the mesh listener, the links and membership while in a cluster; Close
// stops them and waits.
type Node struct {
	cfg Config
	log *slog.Logger
	key ed25519.PrivateKey
	id  string

	mu      sync.Mutex // guards state, reg, run
	state   *State
	reg     *Registry
	run     *runtime
	refusal refusalLimiter
	ipc     ipcRequests
	dedup   *dedupTable
	// cur mirrors reg for readers that may not take mu (memberlist's
	// delegates, which it calls while this node holds mu in Create and
	// Leave).
	cur atomic.Pointer[Registry]
	// suspicions counts the probes of this node that failed into a
	// suspicion (a figure of the detector's noise).
	suspicions atomic.Uint64
}

// setReg sets the registry. Callers hold n.mu.
func (n *Node) setReg(r *Registry) {
	n.reg = r
	n.cur.Store(r)
}

// runtime is what runs while the node is in a cluster.
type runtime struct {
	n      *Node
	ep     *mesh.Endpoint
	ln     *mesh.Listener
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	out    map[string]*mesh.Link // outbound member links by node id
	links  map[*mesh.Link]string // every open link → peer node id
	ms     membership
	cons   consensus
	// advertise is the address peers reach this node at.
	advertise string
}

// Open loads the node's cluster state; a node in a cluster starts its
// listener and membership at once.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Identity == nil || cfg.StatePath == "" {
		return nil, errors.New("cluster: a node needs an identity and a state path")
	}
	if cfg.Transport == nil {
		cfg.Transport = mesh.TCP{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Events == nil {
		cfg.Events = noEvents{}
	}
	if cfg.RaftDir == "" {
		cfg.RaftDir = filepath.Join(filepath.Dir(cfg.StatePath), "raft")
	}
	cfg.Membership.setDefaults()
	n := &Node{cfg: cfg, log: cfg.Logger, key: cfg.Identity.Ed25519, id: cfg.Identity.NodeID, dedup: newDedupTable()}
	st, err := loadState(cfg.StatePath)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return n, nil
	}
	reg, err := registryFrom(st)
	if err != nil {
		return nil, err
	}
	if _, ok := reg.Member(n.id); !ok {
		return nil, fmt.Errorf("%w: %s names cluster %s, of which this node is not a member", ErrNotMember, cfg.StatePath, st.Cluster)
	}
	n.state = st
	n.setReg(reg)
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.start(ctx, st.Listen, false); err != nil {
		return nil, err
	}
	n.run.joinMembers(st.KnownAddrs)
	return n, nil
}

type noEvents struct{}

func (noEvents) Event(string, any) {}

func registryFrom(st *State) (*Registry, error) {
	reg, err := NewRegistry(st.Genesis)
	if err != nil {
		return nil, err
	}
	// Admissions were verified when they arrived; their order on disk is
	// not a path, so add until nothing more verifies.
	pending := st.Admissions
	for len(pending) > 0 {
		var next []Admission
		for _, a := range pending {
			if _, err := reg.Add([]Admission{a}); err != nil {
				next = append(next, a)
			}
		}
		if len(next) == len(pending) {
			break
		}
		pending = next
	}
	for _, rm := range st.Removals {
		if _, err := reg.Remove(rm); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// persist writes the state with the registry's current content. Callers
// hold n.mu.
func (n *Node) persist() error {
	n.state.Admissions = n.reg.All()
	n.state.Removals = n.reg.Removals()
	if n.run != nil {
		n.state.KnownAddrs = n.run.knownAddrs()
	}
	return n.state.save(n.cfg.StatePath)
}

// start listens and starts membership and Raft (bootstrapped as a
// one-node configuration for a new cluster's genesis). Callers hold n.mu.
func (n *Node) start(ctx context.Context, listen string, bootstrap bool) error {
	mc := n.cfg.Mesh
	mc.Identity, mc.AllowClassical, mc.Logger = n.cfg.Identity, n.cfg.AllowClassical, n.log
	mc.Observer = observer{n}
	mc.Admit = n.admitLink
	ep, err := mesh.NewEndpoint(mc)
	if err != nil {
		return err
	}
	r := &runtime{n: n, ep: ep, out: map[string]*mesh.Link{}, links: map[*mesh.Link]string{}}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	if r.ln, err = ep.Listen(ctx, n.cfg.Transport, listen); err != nil {
		r.cancel()
		return err
	}
	if n.state.Advertise == "" || n.state.Listen != listen {
		n.state.Advertise = advertiseFor(r.ln.Addr(), n.state.Advertise)
	}
	n.state.Listen = portFixed(listen, r.ln.Addr())
	r.advertise = n.state.Advertise
	if r.ms, err = newMembership(r); err != nil {
		r.ln.Close()
		r.cancel()
		return err
	}
	if r.cons, err = newConsensus(r, n.cfg.RaftDir, bootstrap); err != nil {
		_ = r.ms.shutdown()
		r.ln.Close()
		r.cancel()
		return err
	}
	n.run = r
	r.wg.Add(2)
	go r.acceptLoop()
	go r.rejoinLoop()
	return nil
}

// advertiseFor picks the address peers reach the listener at.
func advertiseFor(ln net.Addr, configured string) string {
	if configured != "" {
		return configured
	}
	return ln.String()
}

// portFixed replaces a port 0 in listen with the port actually bound, so a
// restart listens where peers know the node is.
func portFixed(listen string, actual net.Addr) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port != "0" {
		return listen
	}
	_, aport, err := net.SplitHostPort(actual.String())
	if err != nil {
		return listen
	}
	return net.JoinHostPort(host, aport)
}

// stop ends the runtime: membership, listener, links. Callers hold n.mu.
func (n *Node) stop() error {
	r := n.run
	if r == nil {
		return nil
	}
	n.run = nil
	// The runtime's goroutines (Raft's, links being greeted) take n.mu:
	// they are stopped and waited for without holding it (n.run is
	// already nil, so nothing new starts).
	n.mu.Unlock()
	defer n.mu.Lock()
	var errs []error
	if r.cons != nil {
		errs = append(errs, r.cons.shutdown())
	}
	errs = append(errs, r.ms.shutdown())
	r.cancel()
	errs = append(errs, r.ln.Close())
	r.mu.Lock()
	for l := range r.links {
		l.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	return errors.Join(errs...)
}

// Close stops the node's cluster runtime (the node stays a member: a
// restart rejoins).
func (n *Node) Close(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stop()
}

// NodeID is this node's id.
func (n *Node) NodeID() string { return n.id }

// Status is the node's view of its cluster.
type Status struct {
	InCluster   bool
	Cluster     ID
	Name        string
	NodeID      string
	SelfName    string
	Advertise   string
	Genesis     string // the genesis node's id
	Members     int
	Alive       int
	Removed     int
	JoinedAt    time.Time
	Classical   bool // classical links are allowed
	Membership  bool // SWIM runs
	MembershipE string
}

// Status returns the node's view of its cluster.
func (n *Node) Status() Status {
	n.mu.Lock()
	defer n.mu.Unlock()
	st := Status{NodeID: n.id, Classical: n.cfg.AllowClassical}
	if n.state == nil {
		return st
	}
	st.InCluster, st.Cluster, st.Name, st.SelfName, st.Advertise = true, n.state.Cluster, n.state.Name, n.state.SelfName, n.state.Advertise
	g := n.reg.Genesis()
	st.Genesis, st.JoinedAt = g.NodeID(), n.state.JoinedAt
	st.Members, st.Removed = len(n.reg.Members()), len(n.reg.Removals())
	if n.run != nil {
		st.Membership = true
		st.Alive = n.run.ms.numAlive()
	}
	return st
}

// PeerInfo is one member as this node sees it.
type PeerInfo struct {
	NodeID   string
	Name     string
	Addr     string
	State    string // alive, suspect, dead, left, removed, unknown (not seen yet)
	Self     bool
	RTT      time.Duration
	LastSeen time.Time
	// ChainSize and ChainRoot are the member's chain head as it last told.
	ChainSize uint64
	ChainRoot string
}

// Peers lists every member and every removed node.
func (n *Node) Peers() ([]PeerInfo, error) {
	n.mu.Lock()
	reg, run := n.reg, n.run
	var self string
	if n.state != nil {
		self = n.state.Advertise
	}
	n.mu.Unlock()
	if reg == nil {
		return nil, ErrNotInCluster
	}
	var seen map[string]memberView
	if run != nil {
		seen = run.ms.view()
	}
	var out []PeerInfo
	for _, a := range reg.All() {
		id := a.Node.NodeID()
		p := PeerInfo{NodeID: id, Name: a.Name, State: "unknown"}
		if v, ok := seen[id]; ok {
			p.Addr, p.State, p.RTT, p.LastSeen, p.ChainSize, p.ChainRoot = v.addr, v.state, v.rtt, v.lastSeen, v.size, v.root
		}
		if rm, ok := reg.Removed(id); ok {
			p.State = "removed"
			if rm.IsLeave() {
				p.State = "left"
			}
		}
		if id == n.id {
			p.Self, p.Addr, p.State, p.LastSeen = true, self, "alive", n.cfg.Now()
			if n.cfg.Head != nil {
				p.ChainSize, p.ChainRoot = n.cfg.Head()
			}
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Self && !out[j].Self })
	return out, nil
}

// refusalLimiter bounds the refusals recorded: at most refusalBurst per
// refusalWindow, the rest counted and reported with the next recorded one.
type refusalLimiter struct {
	mu         sync.Mutex
	window     time.Time
	n          int
	suppressed int
}

const (
	refusalBurst  = 20
	refusalWindow = time.Minute
)

func (l *refusalLimiter) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= refusalWindow {
		l.window, l.n = now, 0
	}
	if l.n >= refusalBurst {
		l.suppressed++
		return false, 0
	}
	l.n++
	s := l.suppressed
	l.suppressed = 0
	return true, s
}

func (n *Node) recordRefusal(ev RefusalEvent) {
	if ok, s := n.refusal.allow(n.cfg.Now()); ok {
		ev.Suppressed = s
		n.cfg.Events.Event(KindRefusal, ev)
	}
}

// observer reports the mesh's handshakes as events.
type observer struct{ n *Node }

func (o observer) Refused(r mesh.Refusal) {
	o.n.recordRefusal(RefusalEvent{Addr: r.Addr, Node: r.NodeID, Code: r.Code.String(), Reason: r.Err.Error(), ByPeer: r.ByPeer})
}

func (o observer) Linked(p mesh.Peer, initiator bool) {
	if p.Suite == mesh.SuiteClassical {
		o.n.cfg.Events.Event(KindClassicalLink, LinkEvent{Node: p.NodeID, Addr: p.Addr, Suite: p.Suite.String(), Initiator: initiator})
	}
}

// admitLink is the mesh's admission check: a removed node is refused at
// the handshake; anyone else must then prove membership (or present an
// invite) in its first message.
func (n *Node) admitLink(p mesh.Peer) error {
	reg := n.cur.Load()
	if reg == nil {
		return ErrNotInCluster
	}
	if rm, ok := reg.Removed(p.NodeID); ok {
		return fmt.Errorf("%w: %s", ErrRemoved, removalWhy(rm))
	}
	return nil
}
