package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
)

// ChainStatus returns the chain's length, head and checkpoints.
func (c *Client) ChainStatus(ctx context.Context) (apitype.ChainStatus, error) {
	var out apitype.ChainStatus
	return out, c.do(ctx, http.MethodGet, "/v1/chain/status", nil, &out)
}

// ChainKeys returns the node's chain keys.
func (c *Client) ChainKeys(ctx context.Context) (apitype.ChainKeys, error) {
	var out apitype.ChainKeys
	return out, c.do(ctx, http.MethodGet, "/v1/chain/keys", nil, &out)
}

// ChainWitnesses lists what this node witnessed of its peers' chains.
func (c *Client) ChainWitnesses(ctx context.Context) ([]apitype.ChainWitness, error) {
	var out []apitype.ChainWitness
	return out, c.do(ctx, http.MethodGet, "/v1/chain/witnesses", nil, &out)
}

func eventsQuery(q apitype.ChainEventsQuery) url.Values {
	v := url.Values{"n": {strconv.Itoa(q.N)}}
	if q.Kind != "" {
		v.Set("kind", q.Kind)
	}
	if q.HasFrom {
		v.Set("from", strconv.FormatUint(q.From, 10))
	}
	return v
}

// ChainEvents returns the events q selects.
func (c *Client) ChainEvents(ctx context.Context, q apitype.ChainEventsQuery) ([]apitype.ChainEvent, error) {
	var out []apitype.ChainEvent
	return out, c.do(ctx, http.MethodGet, "/v1/chain/events?"+eventsQuery(q).Encode(), nil, &out)
}

// ChainFollow calls fn with the last q.N events (of q.Kind) and then with
// every new one as it is appended, until ctx ends, fn fails or the daemon
// shuts down.
func (c *Client) ChainFollow(ctx context.Context, q apitype.ChainEventsQuery, fn func(apitype.ChainEvent) error) error {
	v := eventsQuery(apitype.ChainEventsQuery{N: q.N, Kind: q.Kind})
	v.Set("follow", "1")
	return c.stream(ctx, http.MethodGet, "/v1/chain/events?"+v.Encode(), nil, func(line []byte) error {
		var ev apitype.ChainEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return fmt.Errorf("client: chain event: %w", err)
		}
		return fn(ev)
	})
}

// ChainEvent returns the event with sequence number seq.
func (c *Client) ChainEvent(ctx context.Context, seq uint64) (apitype.ChainEvent, error) {
	var out apitype.ChainEvent
	return out, c.do(ctx, http.MethodGet, "/v1/chain/events/"+strconv.FormatUint(seq, 10), nil, &out)
}

// ChainExport writes the chain from event from on, one JSON event per line
// exactly as stored, to w. An export that the daemon cannot finish (a
// damaged record) fails with the daemon's error after what it could send.
func (c *Client) ChainExport(ctx context.Context, w io.Writer, from uint64) error {
	resp, err := c.open(ctx, http.MethodGet, "/v1/chain/export?from="+strconv.FormatUint(from, 10), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("client: chain export: %w", err)
	}
	return trailerError(resp)
}

// ChainProve returns the inclusion proof of event seq in the latest
// checkpoint (waiting for a checkpoint to cover a fresh event).
func (c *Client) ChainProve(ctx context.Context, seq uint64) (apitype.ChainProof, error) {
	var out apitype.ChainProof
	return out, c.do(ctx, http.MethodGet, "/v1/chain/prove/"+strconv.FormatUint(seq, 10), nil, &out)
}

// ChainConsistency returns the proof that the chain of newSize events
// extends the one of oldSize.
func (c *Client) ChainConsistency(ctx context.Context, oldSize, newSize uint64) (apitype.ChainConsistency, error) {
	var out apitype.ChainConsistency
	path := fmt.Sprintf("/v1/chain/consistency?old=%d&new=%d", oldSize, newSize)
	return out, c.do(ctx, http.MethodGet, path, nil, &out)
}
