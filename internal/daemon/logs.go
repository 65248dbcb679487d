package daemon

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/logfile"
	"github.com/weftos/weftos/internal/redact"
)

// newLogger opens HOME/weave.log (the home's lock is held: this daemon is
// its only writer) and returns the daemon's logger: every record goes to
// the file and to Options.Logger or LogOutput (stderr by default). Secrets
// in attributes and messages are masked before they are written.
func (d *Daemon) newLogger() (*slog.Logger, error) {
	format, level := d.cfg.Log.Format, d.cfg.Log.Level
	if d.opts.LogFormat != "" {
		format = d.opts.LogFormat
	}
	if d.opts.LogLevel != "" {
		level = d.opts.LogLevel
	}
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	ho := &slog.HandlerOptions{Level: lv, ReplaceAttr: redact.Attr}
	handler := func(w io.Writer) slog.Handler {
		if format == "json" {
			return slog.NewJSONHandler(w, ho)
		}
		return slog.NewTextHandler(w, ho)
	}
	lf, err := logfile.Open(filepath.Join(d.home, LogName), logfile.Options{MaxBytes: int64(d.cfg.Log.FileMaxMiB) << 20, Keep: d.cfg.Log.FileKeep})
	if err != nil {
		return nil, fmt.Errorf("daemon: opening the log file: %w", err)
	}
	d.logFile = lf
	hs := []slog.Handler{handler(lf)}
	switch out := d.opts.LogOutput; {
	case d.opts.Logger != nil:
		hs = append(hs, d.opts.Logger.Handler())
	case out == io.Discard:
	case out == nil:
		hs = append(hs, handler(os.Stderr))
	default:
		hs = append(hs, handler(out))
	}
	return slog.New(slog.NewMultiHandler(hs...)), nil
}

// opsRoutes are the operator's endpoints: the daemon's log and doctor.
func (d *Daemon) opsRoutes() []localapi.Route {
	return []localapi.Route{
		{Pattern: "GET /v1/logs", Handler: d.handleLogs},
		{Pattern: "GET /v1/doctor", Handler: d.handleDoctor},
	}
}

// handleLogs answers the log's last lines (?n=, default 50); with
// ?follow=1 it streams them and then every new line as JSON lines, until
// the client goes away or the daemon shuts down. Secrets are masked again
// on the way out (the file may hold lines from older versions).
func (d *Daemon) handleLogs(w http.ResponseWriter, r *http.Request) {
	n, err := queryUint(r, "n", 50)
	if err == nil && n > logfile.MaxTail {
		err = fmt.Errorf("%w: n=%d is above %d", kernel.ErrInvalid, n, logfile.MaxTail)
	}
	if err != nil {
		d.fail(w, err)
		return
	}
	lines, pos, err := d.logFile.Snapshot(int(n))
	if err != nil {
		d.fail(w, err)
		return
	}
	for i, l := range lines {
		lines[i] = redact.String(l)
	}
	if r.URL.Query().Get("follow") != "1" {
		if lines == nil {
			lines = []string{}
		}
		localapi.WriteJSON(w, apitype.LogsResponse{Path: d.logFile.Path(), Lines: lines})
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		localapi.WriteError(w, http.StatusInternalServerError, "internal", "streaming unsupported")
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	send := func(lines []string, skipped int64) error {
		if skipped > 0 {
			if err := enc.Encode(apitype.LogLine{SkippedBytes: skipped}); err != nil {
				return err
			}
		}
		for _, l := range lines {
			if err := enc.Encode(apitype.LogLine{Line: redact.String(l)}); err != nil {
				return err
			}
		}
		fl.Flush()
		return nil
	}
	if err := send(lines, 0); err != nil {
		return
	}
	// Ends when the client goes away, or — once the API shuts down — after
	// what was written so far.
	_ = d.logFile.Follow(r.Context(), d.closing, pos, send)
}
