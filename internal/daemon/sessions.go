package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/governance"

	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/session"
)

// removeSession deletes a session's journal (a /reset); a session that
// does not exist yet is already clear.
func (d *Daemon) removeSession(name string) error {
	if err := session.Remove(d.home, name); err != nil && !errors.Is(err, session.ErrNotFound) {
		return err
	}
	return nil
}

func (d *Daemon) failSession(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, session.ErrNotFound):
		localapi.WriteError(w, http.StatusNotFound, "unknown_session", err.Error())
	case errors.Is(err, session.ErrInvalidName):
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", err.Error())
	case errors.Is(err, session.ErrLocked):
		localapi.WriteError(w, http.StatusConflict, "session_busy", err.Error())
	default:
		d.fail(w, err)
	}
}

func (d *Daemon) handleSessions(w http.ResponseWriter, r *http.Request) {
	list, errs := session.List(d.home)
	out := struct {
		Sessions []session.Summary `json:"sessions"`
		Problems []string          `json:"problems,omitempty"`
	}{Sessions: list}
	for _, e := range errs {
		out.Problems = append(out.Problems, e.Error())
	}
	localapi.WriteJSON(w, out)
}

func (d *Daemon) handleSession(w http.ResponseWriter, r *http.Request) {
	snap, err := session.Read(d.home, r.PathValue("name"))
	if err != nil {
		d.failSession(w, err)
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
		d.failSession(w, err)
		return
	}
	if _, err := session.Read(d.home, name); errors.Is(err, session.ErrNotFound) {
		err = fmt.Errorf("%w: %w", authority.ErrConflict, err)
		if rerr := d.auth.Refuse(r.Context(), act, err); errors.Is(rerr, authority.ErrLedger) {
			err = rerr
		}
		d.failSession(w, err)
		return
	}
	err := d.auth.Do(r.Context(), act, func(ctx context.Context, _ *authority.Permit) (any, error) {
		// The session's agent process holds the session open: stop it first.
		d.stopSessionAgent(ctx, name)
		return governance.SessionDetail{Session: name}, session.Remove(d.home, name)
	})
	if err != nil {
		d.failSession(w, err)
		return
	}
	localapi.WriteJSON(w, map[string]any{"removed": name})
}
