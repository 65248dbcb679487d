package apitype

import (
	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/chainquery"
)

// Chain answers. The chain's own types are the wire format: a verifier
// reads the same JSON from an export as from these endpoints.
type (
	// ChainStatus answers GET /v1/chain/status.
	ChainStatus = chainquery.Status
	// ChainKeys answers GET /v1/chain/keys.
	ChainKeys = chainquery.Keys
	// ChainEvent is one event: GET /v1/chain/events/{seq}, and the
	// elements of GET /v1/chain/events.
	ChainEvent = chain.Event
	// ChainProof answers GET /v1/chain/prove/{seq}.
	ChainProof = chainquery.Proof
	// ChainConsistency answers GET /v1/chain/consistency?old=&new=.
	ChainConsistency = chainquery.Consistency
)

// ChainEventsQuery selects events for GET /v1/chain/events: the last N
// (Tail) or N from a seq (From, when HasFrom), of one Kind if set.
type ChainEventsQuery struct {
	N       int    `json:"n"`
	Kind    string `json:"kind,omitempty"`
	From    uint64 `json:"from,omitempty"`
	HasFrom bool   `json:"has_from,omitempty"`
}
