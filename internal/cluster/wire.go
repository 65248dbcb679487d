package cluster

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/weftos/weftos/internal/mesh"
)

// Channels: the first byte of every message on a cluster link.
const (
	chanControl byte = 0x01 // JSON control messages (hello, join, welcome, refused, removal)
	chanGossip  byte = 0x02 // a memberlist packet
	chanStream  byte = 0x03 // a chunk of a memberlist stream
	chanIPC     byte = 0x04 // a cross-node IPC message (JSON)
)

// Purposes a dialer names in its hello.
const (
	purposeMember = "member" // packets and IPC, for the link's lifetime
	purposeStream = "stream" // one memberlist stream (state sync)
	purposeRaft   = "raft"   // one Raft transport connection
)

// Control message types.
const (
	msgHello   = "hello"
	msgJoin    = "join"
	msgWelcome = "welcome"
	msgRefused = "refused"
	msgRemoval = "removal"
)

// control is every control message; Type says which fields are set.
type control struct {
	Type string `json:"type"`
	// hello
	Purpose  string      `json:"purpose,omitempty"`
	Cluster  ID          `json:"cluster,omitzero"`
	Path     []Admission `json:"path,omitempty"`
	Removals []Removal   `json:"removals,omitempty"`
	Addr     string      `json:"addr,omitempty"`
	// join
	Token string `json:"token,omitempty"`
	Name  string `json:"name,omitempty"`
	// welcome
	ClusterName string      `json:"cluster_name,omitempty"`
	Members     []Admission `json:"members,omitempty"`
	Addrs       []string    `json:"addrs,omitempty"`
	// refused
	Code   string `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
	// removal
	Removal *Removal `json:"removal,omitempty"`
}

// Refusal codes in a "refused" control message.
const (
	codeNotMember    = "not_member"
	codeRemoved      = "removed"
	codeBadToken     = "bad_token"
	codeTokenExpired = "token_expired"
	codeTokenUsed    = "token_used"
	codeDenied       = "denied"
	codeInCluster    = "in_cluster"
	codeNoLeader     = "no_leader"
	codeRejected     = "rejected"
)

func codeOf(err error) string {
	switch {
	case errIs(err, ErrRemoved):
		return codeRemoved
	case errIs(err, ErrTokenExpired):
		return codeTokenExpired
	case errIs(err, ErrTokenUsed):
		return codeTokenUsed
	case errIs(err, ErrBadToken):
		return codeBadToken
	case errIs(err, ErrInCluster):
		return codeInCluster
	case errIs(err, ErrNotMember):
		return codeNotMember
	}
	return codeDenied
}

// errorOf maps a refusal code back to its sentinel.
func errorOf(code string) error {
	switch code {
	case codeRemoved:
		return ErrRemoved
	case codeTokenExpired:
		return ErrTokenExpired
	case codeTokenUsed:
		return ErrTokenUsed
	case codeBadToken:
		return ErrBadToken
	case codeInCluster:
		return ErrInCluster
	case codeNotMember:
		return ErrNotMember
	}
	return ErrJoinRefused
}

func sendControl(ctx context.Context, l *mesh.Link, c control) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	return l.Send(ctx, append([]byte{chanControl}, b...))
}

// recvControl reads the next message, which must be a control message.
func recvControl(ctx context.Context, l *mesh.Link) (control, error) {
	var c control
	b, err := l.Recv(ctx)
	if err != nil {
		return c, err
	}
	if len(b) == 0 || b[0] != chanControl {
		return c, fmt.Errorf("%w: expected a control message", mesh.ErrFrame)
	}
	if err := json.Unmarshal(b[1:], &c); err != nil {
		return c, fmt.Errorf("%w: control message: %w", mesh.ErrFrame, err)
	}
	return c, nil
}
