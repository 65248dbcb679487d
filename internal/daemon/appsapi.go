package daemon

import (
	"context"
	"path/filepath"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/localapi"
)

func (d *Daemon) appRoutes() []localapi.Route {
	return []localapi.Route{
		{Pattern: "POST /v1/apps", Handler: d.handleAppInstall(false)},
		{Pattern: "GET /v1/apps", Handler: d.handleAppList},
		{Pattern: "GET /v1/apps/{name}", Handler: d.handleAppInspect},
		{Pattern: "POST /v1/apps/{name}/upgrade", Handler: d.handleAppInstall(true)},
		{Pattern: "POST /v1/apps/{name}/start", Handler: d.handleAppControl(d.apps.Start)},
		{Pattern: "POST /v1/apps/{name}/stop", Handler: d.handleAppControl(d.apps.Stop)},
		{Pattern: "DELETE /v1/apps/{name}", Handler: d.handleAppRemove},
		{Pattern: "GET /v1/apps/{name}/config", Handler: d.handleAppConfig},
		{Pattern: "POST /v1/apps/{name}/config", Handler: d.handleAppConfigure},
		{Pattern: "GET /v1/publishers", Handler: d.handlePublishers},
		{Pattern: "POST /v1/publishers", Handler: d.handlePublisherTrust},
		{Pattern: "DELETE /v1/publishers/{id}", Handler: d.handlePublisherDistrust},
	}
}

func (d *Daemon) handleAppInstall(upgrade bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req apitype.AppInstallRequest
		if !localapi.DecodeBody(w, r, &req) {
			return
		}
		if !filepath.IsAbs(req.Path) {
			localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", "the package path must be absolute")
			return
		}
		a, err := d.apps.Install(r.Context(), req.Path, upgrade)
		if err == nil && upgrade && a.Name != r.PathValue("name") {
			localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", "the package is app "+a.Name+", not "+r.PathValue("name"))
			return
		}
		if err != nil {
			d.fail(w, err)
			return
		}
		localapi.WriteJSON(w, a)
	}
}

func (d *Daemon) handleAppList(w http.ResponseWriter, r *http.Request) {
	list, err := d.apps.List()
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, list)
}

func (d *Daemon) handleAppInspect(w http.ResponseWriter, r *http.Request) {
	a, err := d.apps.App(r.PathValue("name"))
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, a)
}

func (d *Daemon) handleAppControl(f func(ctx context.Context, name string) (apitype.App, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, err := f(r.Context(), r.PathValue("name"))
		if err != nil {
			d.fail(w, err)
			return
		}
		localapi.WriteJSON(w, a)
	}
}

func (d *Daemon) handleAppRemove(w http.ResponseWriter, r *http.Request) {
	if err := d.apps.Remove(r.Context(), r.PathValue("name")); err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, apitype.AppRemoveResponse{Removed: r.PathValue("name")})
}

func (d *Daemon) handleAppConfig(w http.ResponseWriter, r *http.Request) {
	out, err := d.apps.Config(r.PathValue("name"))
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, out)
}

func (d *Daemon) handleAppConfigure(w http.ResponseWriter, r *http.Request) {
	var req apitype.AppConfigRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	out, err := d.apps.Configure(r.Context(), r.PathValue("name"), req)
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, out)
}

func (d *Daemon) handlePublishers(w http.ResponseWriter, r *http.Request) {
	out, err := d.apps.Publishers()
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, out)
}

func (d *Daemon) handlePublisherTrust(w http.ResponseWriter, r *http.Request) {
	var req apitype.PublisherTrustRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	out, err := d.apps.Trust(r.Context(), req)
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, out)
}

func (d *Daemon) handlePublisherDistrust(w http.ResponseWriter, r *http.Request) {
	out, err := d.apps.Distrust(r.Context(), r.PathValue("id"))
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, out)
}
