package llm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
)

// Route is one entry of a failover list: a provider and the model to ask
// it for (empty means the Request's own Model).
type Route struct {
	Provider Provider
	Model    string
}

// Failover is a Provider that tries an ordered list of routes. It moves to
// the next route only when the current one fails with a retryable error
// (rate limited, unavailable, server error, timeout) and nothing has been
// streamed to the caller yet; client errors (bad request, auth, context
// length), cancellation and failures after output started are returned at
// once. Each route applies its own retries first.
type Failover struct {
	name   string
	routes []Route
	log    *slog.Logger
}

var _ Provider = (*Failover)(nil)

// NewFailover returns a Failover over routes. logger may be nil.
func NewFailover(name string, logger *slog.Logger, routes ...Route) (*Failover, error) {
	if len(routes) == 0 {
		return nil, ErrNoProvider
	}
	for i, r := range routes {
		if r.Provider == nil {
			return nil, fmt.Errorf("llm: %w: failover route %d has no provider", ErrBadRequest, i)
		}
	}
	if name == "" {
		name = "failover"
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Failover{name: name, routes: append([]Route(nil), routes...), log: logger}, nil
}

// Name implements Provider.
func (f *Failover) Name() string { return f.name }

// Routes returns a copy of the route list.
func (f *Failover) Routes() []Route { return append([]Route(nil), f.routes...) }

// Chat implements Provider.
func (f *Failover) Chat(ctx context.Context, req *Request, onDelta func(Delta)) (*Response, error) {
	if req == nil {
		return nil, fmt.Errorf("llm: %w: nil request", ErrBadRequest)
	}
	var errs []error
	for i, rt := range f.routes {
		r := *req
		if rt.Model != "" {
			r.Model = rt.Model
		}
		started := false
		var cb func(Delta)
		if onDelta != nil {
			cb = func(d Delta) { started = true; onDelta(d) }
		}
		resp, err := rt.Provider.Chat(ctx, &r, cb)
		if err == nil {
			return resp, nil
		}
		errs = append(errs, err)
		if started || ctx.Err() != nil || !Retryable(err) || i == len(f.routes)-1 {
			if len(errs) == 1 {
				return nil, err
			}
			return nil, fmt.Errorf("llm: %s: %d routes failed: %w", f.name, len(errs), errors.Join(errs...))
		}
		next := f.routes[i+1]
		f.log.LogAttrs(ctx, slog.LevelWarn, "llm failover", slog.String("from", rt.Provider.Name()+"/"+r.Model),
			slog.String("to", next.Provider.Name()+"/"+next.Model), slog.String("error", err.Error()))
	}
	return nil, ErrNoProvider // unreachable: NewFailover requires a route
}

// Models lists the models of every distinct provider on the route list.
// Providers that fail are skipped unless all fail.
func (f *Failover) Models(ctx context.Context) ([]Model, error) {
	seen := map[string]bool{}
	var out []Model
	var errs []error
	for _, rt := range f.routes {
		if seen[rt.Provider.Name()] {
			continue
		}
		seen[rt.Provider.Name()] = true
		ms, err := rt.Provider.Models(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, ms...)
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
