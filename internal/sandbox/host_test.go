package sandbox

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"net/url"
	"testing"

	"github.com/tetratelabs/wazero/experimental/wazerotest"
)

func TestHostAllowed(t *testing.T) {
	grants := normalizeHosts([]string{" API.Example.com. ", "localhost:8080", "[::1]:9000", ""})
	tests := map[string]bool{
		"https://api.example.com/x":     true,
		"https://API.EXAMPLE.COM:443/x": true,
		"http://api.example.com.:81/":   true,
		"http://localhost:8080/":        true,
		"http://localhost:8081/":        false,
		"http://localhost/":             false,
		"http://[::1]:9000/":            true,
		"http://[::1]:9001/":            false,
		"https://evil.api.example.com/": false,
		"https://api.example.com.evil/": false,
		"https://user@api.example.com/": true, // userinfo is not the host
		"https://api.example.com@evil/": false,
	}
	for raw, want := range tests {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := hostAllowed(grants, u); got != want {
			t.Errorf("%s: allowed=%v, want %v", raw, got, want)
		}
	}
}

// FuzzHostFetch feeds arbitrary request bytes and buffer geometry to the
// http_fetch implementation: it must never panic, never write outside the
// response buffer, and only reach Host.Fetch for granted http(s) hosts.
func FuzzHostFetch(f *testing.F) {
	f.Add([]byte(`{"method":"GET","url":"https://api.example.com/"}`), uint32(0), uint32(256))
	f.Add([]byte(`{"url":"http://evil.example.com/"}`), uint32(10), uint32(4))
	f.Add([]byte(`{"url":`), uint32(4096), uint32(8))
	f.Add([]byte(`{"url":"file:///etc/passwd"}`), uint32(65530), uint32(100))
	f.Fuzz(func(t *testing.T, req []byte, respPtr, respCap uint32) {
		const memSize = 64 << 10
		mem := wazerotest.NewFixedMemory(memSize)
		if len(req) > 4096 {
			req = req[:4096]
		}
		copy(mem.Bytes[memSize-4096:], req)
		reqPtr := uint32(memSize - 4096)
		before := append([]byte(nil), mem.Bytes...)
		var reached []string
		host := &recHost{fetchFn: func(_ context.Context, fr FetchRequest) (FetchResponse, error) {
			reached = append(reached, fr.URL)
			return FetchResponse{Status: 200, Body: "ok"}, nil
		}}
		s := &runState{host: host, logger: slog.New(slog.DiscardHandler), allowed: []string{"api.example.com"}, maxLogs: 1}
		code := s.fetch(context.Background(), mem, reqPtr, uint32(len(req)), respPtr, respCap)
		for _, u := range reached {
			pu, err := url.Parse(u)
			if err != nil || !hostAllowed(s.allowed, pu) {
				t.Fatalf("Host.Fetch reached for %q", u)
			}
		}
		// Only [respPtr, respPtr+respCap) may change.
		for i := range mem.Bytes {
			if mem.Bytes[i] != before[i] && (uint64(i) < uint64(respPtr) || uint64(i) >= uint64(respPtr)+uint64(respCap)) {
				t.Fatalf("byte %d outside the response buffer changed", i)
			}
		}
		switch {
		case code >= 0:
			var resp FetchResponse
			if err := json.Unmarshal(mem.Bytes[respPtr:respPtr+uint32(code)], &resp); err != nil {
				t.Fatalf("response is not JSON: %v", err)
			}
		case code == FetchErrTooSmall && respCap >= 4:
			need := binary.LittleEndian.Uint32(mem.Bytes[respPtr:])
			if need <= respCap {
				t.Fatalf("too small, but need %d ≤ cap %d", need, respCap)
			}
		case code < FetchErrLimit:
			t.Fatalf("undocumented code %d", code)
		}
	})
}
