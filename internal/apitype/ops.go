package apitype

import "time"

// LogsResponse answers GET /v1/logs?n=N: the last lines of the daemon's
// log (oldest first, across rotated files), secrets masked.
type LogsResponse struct {
	// Path is the log file in the home (weave.log).
	Path  string   `json:"path"`
	Lines []string `json:"lines"`
}

// LogLine is one JSON line of GET /v1/logs?follow=1: first the last N
// lines, then each new one, until the client hangs up or the daemon shuts
// down (the stream then simply ends).
type LogLine struct {
	Line string `json:"line"`
	// SkippedBytes, when not zero, says the stream missed that many bytes
	// of log here because the client read too slowly; they are in the
	// log file.
	SkippedBytes int64 `json:"skipped_bytes,omitempty"`
}

// Doctor check statuses. A report with any DoctorFail makes `weave doctor`
// exit 1.
const (
	DoctorOK   = "ok"
	DoctorWarn = "warn"
	DoctorFail = "fail"
	DoctorSkip = "skip" // the check does not apply on this platform
)

// DoctorCheck is one check of GET /v1/doctor (or of `weave doctor`
// without a daemon).
type DoctorCheck struct {
	// Name is stable: home, keys, chain, constitution, provider NAME (one
	// per provider), providers (none configured), disk, landlock, log,
	// daemon.
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
	// Fix says what to do when Status is warn or fail.
	Fix string `json:"fix,omitempty"`
}

// DoctorReport answers GET /v1/doctor.
type DoctorReport struct {
	// Daemon says the checks ran in a running daemon (else offline, on
	// the home's files).
	Daemon bool          `json:"daemon"`
	Checks []DoctorCheck `json:"checks"`
}

// Failed counts the checks that failed.
func (r DoctorReport) Failed() int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == DoctorFail {
			n++
		}
	}
	return n
}

// UILoginResponse answers POST /v1/ui/login: a one-time link that logs a
// browser into the control UI.
type UILoginResponse struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}
