package cluster

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha3"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/weftos/weftos/internal/identity"
)

// Key is an Ed25519 public key, hex in JSON.
type Key []byte

// MarshalText writes the hex form.
func (k Key) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(k)), nil }

// UnmarshalText parses the hex form of a 32-byte key.
func (k *Key) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil || len(v) != ed25519.PublicKeySize {
		return fmt.Errorf("cluster: key %q: want 64 hex digits", b)
	}
	*k = v
	return nil
}

// NodeID is the node id of the key.
func (k Key) NodeID() string { return identity.NodeIDFor(ed25519.PublicKey(k)) }

// Domains of the signed cluster records.
const (
	admissionDomain = "weftos-cluster/v1 admission\n"
	removalDomain   = "weftos-cluster/v1 removal\n"
	genesisDomain   = "weftos-cluster/v1 genesis\n"
	maxNameLen      = 255
)

// Admission is a member's signed admission: Issuer (a member) admitted
// Node, redeeming invite Token. The genesis admission is self-issued
// (Node = Issuer) and its Token is a random nonce from which, with Node
// and IssuedAt, the cluster id derives.
type Admission struct {
	Cluster  ID     `json:"cluster"`
	Node     Key    `json:"node"`
	Issuer   Key    `json:"issuer"`
	Name     string `json:"name"`
	IssuedAt int64  `json:"issued_at"` // Unix seconds
	Token    ID     `json:"token"`
	Sig      []byte `json:"sig"`
}

// NodeID is the admitted node's id.
func (a *Admission) NodeID() string { return a.Node.NodeID() }

// IsGenesis reports whether a is self-issued.
func (a *Admission) IsGenesis() bool { return bytes.Equal(a.Node, a.Issuer) }

func (a *Admission) signed() []byte {
	b := append([]byte(admissionDomain), a.Cluster[:]...)
	b = append(b, a.Node...)
	b = append(b, a.Issuer...)
	b = binary.BigEndian.AppendUint64(b, uint64(a.IssuedAt))
	b = append(b, a.Token[:]...)
	b = append(b, byte(len(a.Name)))
	return append(b, a.Name...)
}

// genesisID derives a cluster id from a genesis admission's fields.
func genesisID(node Key, issuedAt int64, nonce ID) ID {
	b := append([]byte(genesisDomain), node...)
	b = binary.BigEndian.AppendUint64(b, uint64(issuedAt))
	b = append(b, nonce[:]...)
	var id ID
	copy(id[:], sha3.SumSHAKE256(b, len(id)))
	return id
}

// NewGenesis creates a cluster: the self-issued admission of its first
// node, from which the cluster id derives.
func NewGenesis(priv ed25519.PrivateKey, name string, issuedAt int64, nonce ID) (Admission, error) {
	if len(name) > maxNameLen {
		return Admission{}, fmt.Errorf("cluster: name longer than %d bytes", maxNameLen)
	}
	pub := Key(priv.Public().(ed25519.PublicKey))
	a := Admission{Cluster: genesisID(pub, issuedAt, nonce), Node: pub, Issuer: pub, Name: name, IssuedAt: issuedAt, Token: nonce}
	a.Sig = ed25519.Sign(priv, a.signed())
	return a, nil
}

// Admit signs the admission of node by the member holding priv.
func Admit(priv ed25519.PrivateKey, cluster ID, node Key, name string, issuedAt int64, token ID) (Admission, error) {
	if len(name) > maxNameLen {
		return Admission{}, fmt.Errorf("cluster: name longer than %d bytes", maxNameLen)
	}
	a := Admission{Cluster: cluster, Node: node, Issuer: Key(priv.Public().(ed25519.PublicKey)), Name: name, IssuedAt: issuedAt, Token: token}
	a.Sig = ed25519.Sign(priv, a.signed())
	return a, nil
}

// verify checks the signature and shape (not who issued it).
func (a *Admission) verify() error {
	if len(a.Node) != ed25519.PublicKeySize || len(a.Issuer) != ed25519.PublicKeySize || len(a.Name) > maxNameLen {
		return fmt.Errorf("%w: malformed admission", ErrNotMember)
	}
	if !ed25519.Verify(ed25519.PublicKey(a.Issuer), a.signed(), a.Sig) {
		return fmt.Errorf("%w: admission of %s: signature does not verify", ErrNotMember, a.NodeID())
	}
	if a.IsGenesis() && genesisID(a.Node, a.IssuedAt, a.Token) != a.Cluster {
		return fmt.Errorf("%w: genesis admission does not derive cluster %s", ErrNotMember, a.Cluster)
	}
	return nil
}

// Removal removes Node from the cluster: signed By a member (a removal)
// or by Node itself (a leave). Removals win: a removed node id never
// becomes a member again.
type Removal struct {
	Cluster ID     `json:"cluster"`
	Node    Key    `json:"node"`
	By      Key    `json:"by"`
	At      int64  `json:"at"` // Unix seconds
	Reason  string `json:"reason,omitempty"`
	Sig     []byte `json:"sig"`
}

// NodeID is the removed node's id.
func (r *Removal) NodeID() string { return r.Node.NodeID() }

// IsLeave reports whether the node removed itself.
func (r *Removal) IsLeave() bool { return bytes.Equal(r.Node, r.By) }

func (r *Removal) signed() []byte {
	b := append([]byte(removalDomain), r.Cluster[:]...)
	b = append(b, r.Node...)
	b = append(b, r.By...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.At))
	b = append(b, byte(len(r.Reason)))
	return append(b, r.Reason...)
}

// NewRemoval signs the removal of node by the holder of priv.
func NewRemoval(priv ed25519.PrivateKey, cluster ID, node Key, at int64, reason string) Removal {
	if len(reason) > maxNameLen {
		reason = reason[:maxNameLen]
	}
	r := Removal{Cluster: cluster, Node: node, By: Key(priv.Public().(ed25519.PublicKey)), At: at, Reason: reason}
	r.Sig = ed25519.Sign(priv, r.signed())
	return r
}

// Registry is the member registry: the genesis, every admission verified
// back to it, and the removals. Admissions and removals only accumulate
// (two grow-only sets, removal winning), so members that exchange what
// they know converge whatever the order. It is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	genesis Admission
	members map[string]Admission
	removed map[string]Removal
}

// NewRegistry starts a registry from a verified genesis admission.
func NewRegistry(genesis Admission) (*Registry, error) {
	if !genesis.IsGenesis() {
		return nil, fmt.Errorf("%w: not a genesis admission", ErrNotMember)
	}
	if err := genesis.verify(); err != nil {
		return nil, err
	}
	return &Registry{genesis: genesis, members: map[string]Admission{genesis.NodeID(): genesis}, removed: map[string]Removal{}}, nil
}

// Cluster is the registry's cluster id.
func (r *Registry) Cluster() ID { return r.genesis.Cluster }

// Genesis is the cluster's genesis admission.
func (r *Registry) Genesis() Admission { return r.genesis }

// Add verifies admissions (a path from members this registry knows, or
// from the genesis, to a node) and adds the new ones, which it returns.
// An admission of a removed node, or issued by a node that is neither a
// member nor earlier on the path, is refused.
func (r *Registry) Add(path []Admission) ([]Admission, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var added []Admission
	for _, a := range path {
		if a.Cluster != r.genesis.Cluster {
			return added, fmt.Errorf("%w: admission for cluster %s, this is %s", ErrNotMember, a.Cluster, r.genesis.Cluster)
		}
		if err := a.verify(); err != nil {
			return added, err
		}
		id := a.NodeID()
		if a.IsGenesis() {
			if !bytes.Equal(a.Sig, r.genesis.Sig) {
				return added, fmt.Errorf("%w: a second genesis", ErrNotMember)
			}
			continue
		}
		if rm, ok := r.removed[id]; ok {
			return added, fmt.Errorf("%w: %s (%s)", ErrRemoved, id, removalWhy(rm))
		}
		if _, ok := r.members[id]; ok {
			continue
		}
		issuer := a.Issuer.NodeID()
		if _, ok := r.members[issuer]; !ok {
			return added, fmt.Errorf("%w: %s was admitted by %s, who is not a member", ErrNotMember, id, issuer)
		}
		if _, ok := r.removed[issuer]; ok {
			return added, fmt.Errorf("%w: %s was admitted by %s, who was removed", ErrNotMember, id, issuer)
		}
		r.members[id] = a
		added = append(added, a)
	}
	return added, nil
}

func removalWhy(rm Removal) string {
	if rm.IsLeave() {
		return "left"
	}
	return "removed by " + rm.By.NodeID()
}

// Remove verifies and applies a removal; it reports whether it is new.
// The signer must be a member (any member may remove another; a node may
// always remove itself).
func (r *Registry) Remove(rm Removal) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rm.Cluster != r.genesis.Cluster {
		return false, fmt.Errorf("%w: removal for cluster %s", ErrNotMember, rm.Cluster)
	}
	if len(rm.Node) != ed25519.PublicKeySize || len(rm.By) != ed25519.PublicKeySize || len(rm.Reason) > maxNameLen ||
		!ed25519.Verify(ed25519.PublicKey(rm.By), rm.signed(), rm.Sig) {
		return false, fmt.Errorf("%w: removal signature does not verify", ErrNotMember)
	}
	id := rm.NodeID()
	if _, ok := r.removed[id]; ok {
		return false, nil
	}
	if _, ok := r.members[rm.By.NodeID()]; !ok && !rm.IsLeave() {
		return false, fmt.Errorf("%w: %s may not remove members", ErrNotMember, rm.By.NodeID())
	}
	r.removed[id] = rm
	return true, nil
}

// Member returns the admission of a current member.
func (r *Registry) Member(nodeID string) (Admission, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if _, gone := r.removed[nodeID]; gone {
		return Admission{}, false
	}
	a, ok := r.members[nodeID]
	return a, ok
}

// Removed returns the removal of a node, if any.
func (r *Registry) Removed(nodeID string) (Removal, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	rm, ok := r.removed[nodeID]
	return rm, ok
}

// Members lists current members' admissions, by node id.
func (r *Registry) Members() []Admission {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Admission, 0, len(r.members))
	for id, a := range r.members {
		if _, gone := r.removed[id]; !gone {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID() < out[j].NodeID() })
	return out
}

// All lists every admission ever verified (removed members included),
// genesis first.
func (r *Registry) All() []Admission {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Admission, 0, len(r.members))
	for _, a := range r.members {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].IsGenesis() != out[j].IsGenesis() {
			return out[i].IsGenesis()
		}
		return out[i].NodeID() < out[j].NodeID()
	})
	return out
}

// Removals lists the removals, by node id.
func (r *Registry) Removals() []Removal {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Removal, 0, len(r.removed))
	for _, rm := range r.removed {
		out = append(out, rm)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID() < out[j].NodeID() })
	return out
}

// Path returns the admissions from the genesis to nodeID, in order.
func (r *Registry) Path(nodeID string) []Admission {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var path []Admission
	for seen := map[string]bool{}; !seen[nodeID]; {
		seen[nodeID] = true
		a, ok := r.members[nodeID]
		if !ok {
			return nil
		}
		path = append(path, a)
		if a.IsGenesis() {
			break
		}
		nodeID = a.Issuer.NodeID()
	}
	slices.Reverse(path)
	return path
}
