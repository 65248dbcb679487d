package daemon

import (
	"context"
	"fmt"
	"path/filepath"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/nodemetrics"
	"github.com/weftos/weftos/internal/toolhost"
)

// Wire types of the tool endpoints (internal/apitype).
type (
	ToolInstallRequest = apitype.ToolInstallRequest
	ToolRunRequest     = apitype.ToolRunRequest
)

// openToolHost starts the WASM tool host (internal/toolhost) on the
// node's pipeline, chain and built-in tools.
func (d *Daemon) openToolHost(ctx context.Context) error {
	var ch toolhost.Chain
	if d.chain != nil {
		ch = d.chain
	}
	var err error
	d.toolhost, err = toolhost.New(ctx, toolhost.Options{Home: d.home, Auth: d.auth, Chain: ch, ChainErr: d.chainErr,
		Builtins: d.builtinTools(), Metrics: d.ops, Clock: d.opts.Clock, Logger: d.log})
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	return nil
}

// What the tool host is handed.
var (
	_ toolhost.Chain   = (*chain.Log)(nil)
	_ toolhost.Metrics = (*nodemetrics.Metrics)(nil)
)

func (d *Daemon) handleToolInstall(w http.ResponseWriter, r *http.Request) {
	var req ToolInstallRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	if !filepath.IsAbs(req.Path) {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", "the package path must be absolute")
		return
	}
	it, err := d.toolhost.Install(r.Context(), req.Path)
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, it)
}

func (d *Daemon) handleToolList(w http.ResponseWriter, r *http.Request) {
	list, err := d.toolhost.List()
	if err != nil {
		d.fail(w, err)
		return
	}
	if list == nil {
		list = []apitype.InstalledTool{}
	}
	localapi.WriteJSON(w, list)
}

func (d *Daemon) handleToolInspect(w http.ResponseWriter, r *http.Request) {
	it, _, err := d.toolhost.Load(r.PathValue("name"))
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, it)
}

func (d *Daemon) handleToolRun(w http.ResponseWriter, r *http.Request) {
	var req ToolRunRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	res, err := d.toolhost.Run(r.Context(), toolhost.Caller{}, r.PathValue("name"), req.Input)
	if err != nil {
		code, status := d.apiHandler.Code(err)
		e := apitype.Error{Code: code, Message: err.Error()}
		if res.Millis > 0 || res.FuelUsed > 0 || res.Stderr != "" { // the tool ran
			e.Tool = &apitype.ToolFailure{Stderr: res.Stderr, FuelUsed: res.FuelUsed, Millis: res.Millis}
		}
		localapi.WriteErrorBody(w, status, e)
		return
	}
	localapi.WriteJSON(w, res)
}

func (d *Daemon) handleToolRemove(w http.ResponseWriter, r *http.Request) {
	if err := d.toolhost.Remove(r.Context(), r.PathValue("name")); err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, apitype.ToolRemoveResponse{Removed: r.PathValue("name")})
}
