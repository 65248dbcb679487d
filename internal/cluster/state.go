package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/weftos/weftos/internal/durable"
)

// State is what a node persists of its cluster (the file the daemon
// keeps in its home, cluster.json): enough to restart in the cluster. The
// chain records every change; this file is where a restart starts from.
type State struct {
	Cluster    ID          `json:"cluster"`
	Name       string      `json:"name"`
	Genesis    Admission   `json:"genesis"`
	Admissions []Admission `json:"admissions"`
	Removals   []Removal   `json:"removals,omitempty"`
	Issued     []Issued    `json:"issued,omitempty"`
	Listen     string      `json:"listen"`
	Advertise  string      `json:"advertise"`
	KnownAddrs []string    `json:"known_addrs,omitempty"`
	SelfName   string      `json:"self_name"`
	JoinedAt   time.Time   `json:"joined_at"`
}

// Issued is an invite this node issued, and whether it was redeemed.
type Issued struct {
	ID       ID        `json:"id"`
	Expires  time.Time `json:"expires"`
	Redeemed string    `json:"redeemed,omitempty"` // the node id that redeemed it
}

func loadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("cluster: %s: %w", path, err)
	}
	return &s, nil
}

// save writes the state via a synced temporary file and a rename.
func (s *State) save(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := durable.WriteFile(path, append(b, '\n')); err != nil {
		return fmt.Errorf("cluster: writing %s: %w", path, err)
	}
	return nil
}

func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cluster: %w", err)
	}
	return nil
}
