//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/localapi"
)

// fakeDaemon serves the local API's status and agent-run endpoints on
// home's socket, answering every run with events: what a daemon that lost
// (or did not lose) streamed output would send.
func fakeDaemon(t *testing.T, events []apitype.RunEvent) (home string) {
	t.Helper()
	// A short directory: a Unix socket's path is limited to ~104 bytes.
	home, err := os.MkdirTemp("", "weft")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	ln, err := net.Listen("unix", filepath.Join(home, localapi.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(apitype.Status{})
	})
	mux.HandleFunc("POST /v1/agent/run", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		for _, ev := range events {
			_ = enc.Encode(ev)
			w.(http.Flusher).Flush()
		}
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return home
}

// TestOneShotChecksWhatItPrinted: `weft agent -m` compares the text it
// streamed to stdout for the final model call with the final answer. A
// stream that lost a chunk — what the daemon's old bounded buffer did
// while exiting 0 — is an error (exit 1) that says output was lost and
// where the whole answer is; a whole stream is a plain success.
func TestOneShotChecksWhatItPrinted(t *testing.T) {
	const answer = "The quick brown fox jumps over the lazy dog."
	delta := func(turn int, s string) apitype.RunEvent {
		return apitype.RunEvent{Type: apitype.RunDelta, Turn: turn, Text: s}
	}
	final := apitype.RunEvent{Type: apitype.RunFinal, Answer: answer, Turns: 2}
	cases := []struct {
		name   string
		events []apitype.RunEvent
		code   int
		stdout string
		stderr string // a substring; "" for none at all
	}{
		{"whole", []apitype.RunEvent{delta(0, "The quick brown "), delta(0, "fox jumps over the lazy dog."), final},
			cmdline.ExitOK, answer + "\n", ""},
		{"a chunk lost", []apitype.RunEvent{delta(0, "The quick brown "), delta(0, "the lazy dog."), final},
			cmdline.ExitError, "The quick brown the lazy dog.\n",
			"weft: the streamed answer (29 bytes) differs from the final answer (44 bytes): output was lost; the full answer is in the session (weft sessions show default)"},
		{"the last chunk lost", []apitype.RunEvent{delta(0, "The quick brown "), final},
			cmdline.ExitError, "The quick brown \n", "output was lost"},
		{"an earlier model call's text is not the answer", []apitype.RunEvent{delta(0, "Let me look. "), delta(1, answer), final},
			cmdline.ExitOK, "Let me look. \n" + answer + "\n", ""},
		{"nothing streamed: the final answer is printed", []apitype.RunEvent{final},
			cmdline.ExitOK, answer + "\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := fakeDaemon(t, c.events)
			var out, errb bytes.Buffer
			code := runNoStdin([]string{"--home", home, "agent", "-m", "hi", "--workspace", t.TempDir()}, &out, &errb)
			if code != c.code || out.String() != c.stdout {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout %q", code, out.String(), errb.String(), c.code, c.stdout)
			}
			if (c.stderr == "") != (errb.Len() == 0) || !strings.Contains(errb.String(), c.stderr) {
				t.Fatalf("stderr %q; want %q", errb.String(), c.stderr)
			}
		})
	}
}
