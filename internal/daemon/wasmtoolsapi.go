package daemon

import (
	"net/http"
	"path/filepath"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/localapi"
)

// Wire types of the tool endpoints (internal/apitype).
type (
	ToolInstallRequest = apitype.ToolInstallRequest
	ToolRunRequest     = apitype.ToolRunRequest
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
	it, err := d.installTool(r.Context(), req.Path)
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, it)
}

func (d *Daemon) handleToolList(w http.ResponseWriter, r *http.Request) {
	list, err := d.listTools()
	if err != nil {
		d.fail(w, err)
		return
	}
	if list == nil {
		list = []InstalledTool{}
	}
	localapi.WriteJSON(w, list)
}

func (d *Daemon) handleToolInspect(w http.ResponseWriter, r *http.Request) {
	it, _, err := d.loadTool(r.PathValue("name"))
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
	res, err := d.runTool(r.Context(), toolCaller{}, r.PathValue("name"), req.Input)
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
	if err := d.removeTool(r.Context(), r.PathValue("name")); err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, apitype.ToolRemoveResponse{Removed: r.PathValue("name")})
}
