//go:build wasip1

// Command echo is the example WeftOS tool described in docs/TOOLS.md.
//
// It reads {"text": "..."} as JSON on stdin and writes
// {"text": "...", "upper": "...", "length": N} as JSON on stdout. It logs
// through the weftos host module and, if the input has a "url", fetches
// it with weftos.http_fetch (the manifest must grant the host).
//
// Build:
//
//	GOOS=wasip1 GOARCH=wasm go build -o tool.wasm .
package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// The weftos host module. Pointers are offsets into this module's linear
// memory; Go's wasip1 port stores the data of a []byte or string there, so
// the address of its first byte is the offset.

//go:wasmimport weftos log
func weftosLog(level, ptr, size uint32)

//go:wasmimport weftos http_fetch
func weftosHTTPFetch(reqPtr, reqLen, respPtr, respCap uint32) int32

// Log levels of weftos.log.
const (
	levelDebug = 0
	levelInfo  = 1
	levelWarn  = 2
	levelError = 3
)

func bufPtr(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

func logMsg(level uint32, msg string) {
	b := []byte(msg)
	weftosLog(level, bufPtr(b), uint32(len(b)))
}

type fetchRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
}

type fetchResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
}

// httpFetch calls weftos.http_fetch, growing the response buffer once if
// the host reports that it is too small (code -4, needed size in the first
// four bytes of the buffer).
func httpFetch(req fetchRequest) (fetchResponse, error) {
	reqJSON, err := json.Marshal(req)
	if err != nil {
		return fetchResponse{}, err
	}
	buf := make([]byte, 64<<10)
	n := weftosHTTPFetch(bufPtr(reqJSON), uint32(len(reqJSON)), bufPtr(buf), uint32(len(buf)))
	if n == -4 {
		buf = make([]byte, binary.LittleEndian.Uint32(buf))
		n = weftosHTTPFetch(bufPtr(reqJSON), uint32(len(reqJSON)), bufPtr(buf), uint32(len(buf)))
	}
	switch {
	case n == -1:
		return fetchResponse{}, errors.New("http_fetch: invalid request")
	case n == -2:
		return fetchResponse{}, errors.New("http_fetch: host not granted or denied")
	case n == -3:
		return fetchResponse{}, errors.New("http_fetch: request failed")
	case n < 0:
		return fetchResponse{}, fmt.Errorf("http_fetch: error %d", n)
	}
	var resp fetchResponse
	err = json.Unmarshal(buf[:n], &resp)
	return resp, err
}

type input struct {
	Text string `json:"text"`
	URL  string `json:"url,omitempty"`
}

type output struct {
	Text   string `json:"text"`
	Upper  string `json:"upper"`
	Length int    `json:"length"`
	Status int    `json:"status,omitempty"`
}

func main() {
	raw, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo: reading input:", err)
		os.Exit(1)
	}
	var in input
	if err := json.Unmarshal(raw, &in); err != nil {
		fmt.Fprintln(os.Stderr, "echo: input is not {\"text\": ...}:", err)
		os.Exit(2)
	}
	logMsg(levelInfo, "echo: "+in.Text)
	out := output{Text: in.Text, Upper: strings.ToUpper(in.Text), Length: utf8.RuneCountInString(in.Text)}
	if in.URL != "" {
		resp, err := httpFetch(fetchRequest{Method: "GET", URL: in.URL})
		if err != nil {
			logMsg(levelError, err.Error())
			fmt.Fprintln(os.Stderr, "echo:", err)
			os.Exit(3)
		}
		out.Status = resp.Status
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
