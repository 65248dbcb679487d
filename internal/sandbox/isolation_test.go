package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

type fileResult struct {
	OK   bool   `json:"ok"`
	Data string `json:"data"`
	Err  string `json:"err"`
}

func runFiles(t *testing.T, r *Runtime, m *Module, mounts []Mount, req map[string]string) fileResult {
	t.Helper()
	in, _ := json.Marshal(req)
	s := kitSpec("files", string(in))
	s.Mounts = mounts
	res, err := r.Run(context.Background(), m, s, nil)
	if err != nil {
		t.Fatalf("%v: %v (stderr %q)", req, err, res.Stderr)
	}
	var out fileResult
	if err := json.Unmarshal(res.Stdout, &out); err != nil {
		t.Fatalf("stdout %q: %v", res.Stdout, err)
	}
	return out
}

// mountFixture lays out:
//
//	base/secret.txt              outside every mount
//	base/ro/hello.txt            read-only mount /data
//	base/ro/sub/inner.txt
//	base/ro/up     -> ../secret.txt      (escapes)
//	base/ro/abs    -> base/secret.txt    (absolute, escapes)
//	base/ro/dirup  -> ..                 (escapes, directory)
//	base/ro/ok     -> sub/inner.txt      (stays inside)
//	base/ro/dangle -> ../newfile         (dangling, escapes)
//	base/rw/                     read-write mount /out
func mountFixture(t *testing.T) (base string, mounts []Mount) {
	t.Helper()
	base = t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ro, rw := filepath.Join(base, "ro"), filepath.Join(base, "rw")
	must(os.MkdirAll(filepath.Join(ro, "sub"), 0o755))
	must(os.MkdirAll(rw, 0o755))
	must(os.WriteFile(filepath.Join(base, "secret.txt"), []byte("TOP SECRET"), 0o644))
	must(os.WriteFile(filepath.Join(ro, "hello.txt"), []byte("hello from host"), 0o644))
	must(os.WriteFile(filepath.Join(ro, "sub", "inner.txt"), []byte("inner"), 0o644))
	must(os.Symlink("../secret.txt", filepath.Join(ro, "up")))
	must(os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(ro, "abs")))
	must(os.Symlink("..", filepath.Join(ro, "dirup")))
	must(os.Symlink("sub/inner.txt", filepath.Join(ro, "ok")))
	must(os.Symlink("../newfile", filepath.Join(rw, "dangle")))
	must(os.Symlink("..", filepath.Join(rw, "dirup")))
	return base, []Mount{
		{HostPath: ro, GuestPath: "/data", ReadOnly: true},
		{HostPath: rw, GuestPath: "/out"},
	}
}

func TestMountsAndEscapes(t *testing.T) {
	r := sharedRuntime(t)
	m := compile(t, r, kit(t))
	base, mounts := mountFixture(t)

	allowed := []struct {
		name string
		req  map[string]string
		data string
	}{
		{"read in ro mount", map[string]string{"op": "read", "path": "/data/hello.txt"}, "hello from host"},
		{"read nested", map[string]string{"op": "read", "path": "/data/sub/inner.txt"}, "inner"},
		{"symlink inside mount", map[string]string{"op": "read", "path": "/data/ok"}, "inner"},
		{"dotdot that stays inside", map[string]string{"op": "read", "path": "/data/sub/../hello.txt"}, "hello from host"},
		{"list", map[string]string{"op": "list", "path": "/data/sub"}, "inner.txt\n"},
	}
	for _, tt := range allowed {
		t.Run(tt.name, func(t *testing.T) {
			out := runFiles(t, r, m, mounts, tt.req)
			if !out.OK || out.Data != tt.data {
				t.Fatalf("got %+v, want data %q", out, tt.data)
			}
		})
	}

	refused := []struct {
		name string
		req  map[string]string
	}{
		{"dotdot out of mount", map[string]string{"op": "read", "path": "/data/../secret.txt"}},
		{"relative dotdot", map[string]string{"op": "read", "path": "../secret.txt"}},
		{"deep dotdot", map[string]string{"op": "read", "path": "/data/sub/../../../../" + strings.TrimPrefix(base, "/") + "/secret.txt"}},
		{"absolute host path", map[string]string{"op": "read", "path": filepath.Join(base, "secret.txt")}},
		{"etc passwd", map[string]string{"op": "read", "path": "/etc/passwd"}},
		{"relative symlink escape", map[string]string{"op": "read", "path": "/data/up"}},
		{"absolute symlink escape", map[string]string{"op": "read", "path": "/data/abs"}},
		{"directory symlink escape", map[string]string{"op": "read", "path": "/data/dirup/secret.txt"}},
		{"list through symlink", map[string]string{"op": "list", "path": "/data/dirup"}},
		{"write to ro mount", map[string]string{"op": "write", "path": "/data/new.txt", "data": "x"}},
		{"create through dangling symlink", map[string]string{"op": "write", "path": "/out/dangle", "data": "x"}},
		{"write through dir symlink", map[string]string{"op": "write", "path": "/out/dirup/pwned", "data": "x"}},
		{"guest creates symlink", map[string]string{"op": "symlink", "path": "/out/link", "to": "/data/hello.txt"}},
		{"guest creates relative symlink", map[string]string{"op": "symlink", "path": "/out/link2", "to": "../secret.txt"}},
		{"guest creates hard link", map[string]string{"op": "link", "path": "/out/hl", "to": "/out/w.txt"}},
		{"env not granted", map[string]string{"op": "env", "path": "HOME"}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			out := runFiles(t, r, m, mounts, tt.req)
			if out.OK && (tt.req["op"] != "env" || out.Data != "") {
				t.Fatalf("%v succeeded: %+v", tt.req, out)
			}
			if strings.Contains(out.Data, "SECRET") {
				t.Fatalf("secret leaked: %+v", out)
			}
		})
	}
	for _, p := range []string{"newfile", "pwned", "ro/new.txt"} {
		if _, err := os.Lstat(filepath.Join(base, p)); err == nil {
			t.Errorf("%s was created on the host", p)
		}
	}

	// Writes inside the read-write mount work and land on the host.
	out := runFiles(t, r, m, mounts, map[string]string{"op": "write", "path": "/out/w.txt", "data": "written"})
	if !out.OK {
		t.Fatalf("write in rw mount: %+v", out)
	}
	if b, err := os.ReadFile(filepath.Join(base, "rw", "w.txt")); err != nil || string(b) != "written" {
		t.Errorf("host file %q %v", b, err)
	}
	out = runFiles(t, r, m, mounts, map[string]string{"op": "rename", "path": "/out/w.txt", "to": "/out/w2.txt"})
	if !out.OK {
		t.Errorf("rename inside rw mount: %+v", out)
	}
	// Without mounts nothing is visible.
	out = runFiles(t, r, m, nil, map[string]string{"op": "list", "path": "/"})
	if out.OK && out.Data != "" {
		t.Errorf("root listing without mounts: %+v", out)
	}
}

type fetchOut struct {
	Code     int32           `json:"code"`
	Calls    int             `json:"calls"`
	Response json.RawMessage `json:"response"`
}

func TestHTTPFetch(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hits.Add(1)
		body, _ := io.ReadAll(req.Body)
		w.Header().Set("X-Echo", req.Method)
		fmt.Fprintf(w, "you sent %q to %s", body, req.URL.Path)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	host := &recHost{fetchFn: func(ctx context.Context, fr FetchRequest) (FetchResponse, error) {
		req, err := http.NewRequestWithContext(ctx, fr.Method, fr.URL, strings.NewReader(fr.Body))
		if err != nil {
			return FetchResponse{}, err
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			return FetchResponse{}, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return FetchResponse{Status: resp.StatusCode, Headers: map[string]string{"x-echo": resp.Header.Get("X-Echo")}, Body: string(b)}, nil
	}}
	r := sharedRuntime(t)
	m := compile(t, r, kit(t))
	call := func(t *testing.T, grants []string, h Host, reqJSON string) (fetchOut, Result) {
		t.Helper()
		s := kitSpec("fetch", reqJSON)
		s.AllowedHosts = grants
		res, err := r.Run(context.Background(), m, s, h)
		if err != nil {
			t.Fatalf("run: %v (stderr %q)", err, res.Stderr)
		}
		var out fetchOut
		if err := json.Unmarshal(res.Stdout, &out); err != nil {
			t.Fatalf("stdout %q: %v", res.Stdout, err)
		}
		return out, res
	}
	good := fmt.Sprintf(`{"method":"POST","url":%q,"body":"ping"}`, srv.URL+"/api")

	t.Run("granted", func(t *testing.T) {
		hits.Store(0)
		out, res := call(t, []string{u.Hostname()}, host, good)
		if out.Code <= 0 {
			t.Fatalf("code %d", out.Code)
		}
		var resp FetchResponse
		if err := json.Unmarshal(out.Response, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Status != 200 || resp.Body != `you sent "ping" to /api` || resp.Headers["x-echo"] != "POST" {
			t.Errorf("response %+v", resp)
		}
		// The first call had an 8-byte buffer: the response was held and
		// served on the retry without a second request.
		if out.Calls != 2 || hits.Load() != 1 || res.Fetches != 1 {
			t.Errorf("calls %d server hits %d fetches %d", out.Calls, hits.Load(), res.Fetches)
		}
	})
	t.Run("granted with port", func(t *testing.T) {
		out, _ := call(t, []string{u.Host}, host, good)
		if out.Code <= 0 {
			t.Fatalf("code %d", out.Code)
		}
	})
	denied := []struct {
		name   string
		grants []string
		h      Host
		req    string
		code   int32
	}{
		{"no grants", nil, host, good, FetchErrDenied},
		{"other host", []string{"api.example.com"}, host, good, FetchErrDenied},
		{"wrong port", []string{u.Hostname() + ":1"}, host, good, FetchErrDenied},
		{"subdomain is not the host", []string{"x." + u.Hostname()}, host, good, FetchErrDenied},
		{"caller denies", []string{u.Hostname()}, &recHost{}, good, FetchErrDenied},
		{"nil host", []string{u.Hostname()}, nil, good, FetchErrDenied},
		{"bad json", []string{u.Hostname()}, host, `{"url":`, FetchErrInvalid},
		{"file scheme", []string{u.Hostname()}, host, `{"url":"file:///etc/passwd"}`, FetchErrInvalid},
	}
	for _, tt := range denied {
		t.Run(tt.name, func(t *testing.T) {
			hits.Store(0)
			out, _ := call(t, tt.grants, tt.h, tt.req)
			if out.Code != tt.code {
				t.Errorf("code %d, want %d", out.Code, tt.code)
			}
			if hits.Load() != 0 {
				t.Errorf("server was reached")
			}
		})
	}
	t.Run("transport failure", func(t *testing.T) {
		failing := &recHost{fetchFn: func(context.Context, FetchRequest) (FetchResponse, error) {
			return FetchResponse{}, io.ErrUnexpectedEOF
		}}
		out, _ := call(t, []string{u.Hostname()}, failing, good)
		if out.Code != FetchErrFailed {
			t.Errorf("code %d, want %d", out.Code, FetchErrFailed)
		}
	})
}
