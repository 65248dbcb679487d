//go:build !noui

package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/webui"
)

// uiParts is the control UI as the daemon wires it: the logic lives in
// internal/webui, which reaches the node only through the local API
// handler.
type uiParts struct {
	server *webui.Server
	http   *http.Server
}

// openUI starts the control UI when [ui] listen is set. It serves the
// local API's own handler behind the UI's authentication, so every act
// from a browser takes the CLI's path.
func (d *Daemon) openUI() error {
	uc := d.cfg.UI
	if uc.Listen == "" {
		return nil
	}
	ulog := d.log.With("layer", "ui")
	s := webui.New(webui.Options{API: d.apiHandler.Authenticated(), Clock: d.opts.Clock, Log: ulog,
		LoginTTL: uc.LoginTTL.Duration, SessionTTL: uc.SessionTTL.Duration})
	ln, err := net.Listen("tcp", uc.Listen)
	if err != nil {
		return fmt.Errorf("daemon: ui listener %s: %w", uc.Listen, err)
	}
	s.SetAddr(ln.Addr().String())
	d.ui = uiParts{server: s, http: &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(ulog.Handler(), slog.LevelWarn)}}
	d.wg.Go(func() {
		if err := d.ui.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			ulog.Error("control UI stopped", "err", err)
		}
	})
	ulog.Info("serving the control UI", "addr", s.Addr())
	return nil
}

// closeUI stops the UI's server; its streams end with the API's (closing).
func (d *Daemon) closeUI(ctx context.Context) error {
	if d.ui.http == nil {
		return nil
	}
	if err := d.ui.http.Shutdown(ctx); err != nil {
		_ = d.ui.http.Close()
		return fmt.Errorf("ui: %w", err)
	}
	return nil
}

// UIAddr is the control UI's address, "" when it is off.
func (d *Daemon) UIAddr() string {
	if d.ui.server == nil {
		return ""
	}
	return d.ui.server.Addr()
}

func (d *Daemon) uiRoutes() []localapi.Route {
	return []localapi.Route{{Pattern: "POST /v1/ui/login", Handler: d.handleUILogin}}
}

// handleUILogin mints a one-time login link (weave ui). Only the socket's
// owner can ask; the UI itself cannot (it is not on the UI's allowlist).
func (d *Daemon) handleUILogin(w http.ResponseWriter, r *http.Request) {
	if d.ui.server == nil {
		localapi.WriteError(w, apitype.StatusForCode(apitype.CodeUIDisabled), apitype.CodeUIDisabled, apitype.ErrUIDisabled.Error())
		return
	}
	link, exp, err := d.ui.server.NewLogin()
	if err != nil {
		d.fail(w, err)
		return
	}
	d.log.Info("ui: login link issued", "expires", exp)
	localapi.WriteJSON(w, apitype.UILoginResponse{URL: link, ExpiresAt: exp})
}
