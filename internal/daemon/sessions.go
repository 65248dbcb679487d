//go:build !nollm

package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/governance"

	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/session"
)

func (d *Daemon) handleSessions(w http.ResponseWriter, r *http.Request) {
	list, errs := session.List(d.home)
	out := apitype.SessionsResponse{Sessions: list}
	for _, e := range errs {
		out.Problems = append(out.Problems, e.Error())
	}
	localapi.WriteJSON(w, out)
}

func (d *Daemon) handleSession(w http.ResponseWriter, r *http.Request) {
	snap, err := session.Read(d.home, r.PathValue("name"))
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, snap)
}

// handleSessionRemove deletes a session: a governed act (session.remove),
// since a session is the agent's durable record of what it did.
func (d *Daemon) handleSessionRemove(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	act := authority.Act{Action: "session.remove", Kind: governance.KindSessionRemove, Source: "operator", Subject: operator(),
		Context: governance.Context{Extra: map[string]string{"session": name}}}
	if !session.ValidName(name) {
		err := fmt.Errorf("%w: %w: %q", authority.ErrInput, session.ErrInvalidName, name)
		if rerr := d.auth.Refuse(r.Context(), act, err); errors.Is(rerr, authority.ErrLedger) {
			err = rerr
		}
		d.fail(w, err)
		return
	}
	if _, err := session.Read(d.home, name); errors.Is(err, session.ErrNotFound) {
		// The refusal on the chain says why in its terms; the caller
		// hears only that there is no such session.
		if rerr := d.auth.Refuse(r.Context(), act, fmt.Errorf("%w: %w", authority.ErrConflict, err)); errors.Is(rerr, authority.ErrLedger) {
			err = rerr
		}
		d.fail(w, err)
		return
	}
	err := d.auth.Do(r.Context(), act, func(ctx context.Context, _ *authority.Permit) (any, error) {
		// The session's agent process holds the session open: stop it first.
		d.stopSessionAgent(ctx, name)
		return governance.SessionDetail{Session: name}, session.Remove(d.home, name)
	})
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, apitype.SessionRemoveResponse{Removed: name})
}

// handleSessionJournal serves a session's journal exactly as stored, each
// record with its checksum, after checking every record.
func (d *Daemon) handleSessionJournal(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if _, err := session.WriteJournal(d.home, r.PathValue("name"), &buf); err != nil {
		d.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	_, _ = buf.WriteTo(w)
}

// handleSessionFork starts a new session as a copy of one's first steps.
func (d *Daemon) handleSessionFork(w http.ResponseWriter, r *http.Request) {
	var req apitype.SessionForkRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	sum, err := session.Fork(r.Context(), d.home, r.PathValue("name"), req.To, req.UpTo)
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, sum)
}
