//go:build !nomemory

package daemon

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/ecchost"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/session"
)

// Wire types of the analyze endpoint (internal/apitype).
type (
	EccAnalyzeRequest = apitype.EccAnalyzeRequest
	EccAnalyzeEvent   = apitype.EccAnalyzeEvent
)

// handleEccAnalyze analyses files, folders and sessions (internal/ecchost),
// streaming progress (NDJSON) and ending with the result and the graph's
// hash.
func (d *Daemon) handleEccAnalyze(w http.ResponseWriter, r *http.Request) {
	var req EccAnalyzeRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	if len(req.Paths) == 0 && len(req.Sessions) == 0 {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", "analyze needs a path or a session")
		return
	}
	for _, p := range req.Paths {
		if !filepath.IsAbs(p) {
			localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("path %q must be absolute", p))
			return
		}
	}
	for _, s := range req.Sessions {
		if !session.ValidName(s) {
			localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("%q is not a session name", s))
			return
		}
	}
	ctx := r.Context()
	if err := d.indexChain(ctx); err != nil {
		d.fail(w, err)
		return
	}
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	emit := func(e apitype.EccAnalyzeEvent) {
		_ = enc.Encode(e)
		if fl != nil {
			fl.Flush()
		}
	}
	an := ecchost.NewAnalyzer(ecchost.Options{Home: d.home, Auth: d.auth, Memory: d.memory, Graph: d.graph, Clock: d.opts.Clock})
	res, err := an.Analyze(ctx, req, emit)
	if err == nil {
		err = d.syncGraph(true)
	}
	if err != nil {
		emit(apitype.EccAnalyzeEvent{Type: apitype.AnalyzeError, Message: err.Error()})
		return
	}
	h := d.graph.Hash()
	res.GraphHash = hex.EncodeToString(h[:])
	res.GraphNodes, res.GraphEdges = d.graph.Len()
	emit(apitype.EccAnalyzeEvent{Type: apitype.AnalyzeDone, Result: &res})
}
