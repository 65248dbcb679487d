//go:build !nonethttp

package tools

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeNet is an injected resolver and dialer. It never connects anywhere
// except the loopback test server: "public" addresses listed in route are
// connected to that server instead, so no traffic leaves the machine.
type fakeNet struct {
	mu      sync.Mutex
	hosts   map[string][][]string // host -> successive answers (the last repeats)
	lookups map[string]int
	route   map[string]string // "ip:port" -> loopback server address
	dials   []string
}

func (f *fakeNet) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	answers, ok := f.hosts[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	n := f.lookups[host]
	f.lookups[host]++
	ans := answers[min(n, len(answers)-1)]
	out := make([]net.IPAddr, 0, len(ans))
	for _, a := range ans {
		out = append(out, net.IPAddr{IP: net.ParseIP(a)})
	}
	return out, nil
}

func (f *fakeNet) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	f.mu.Lock()
	f.dials = append(f.dials, addr)
	to, ok := f.route[addr]
	f.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("fake dialer: refusing to connect to %s", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to)
}

func (f *fakeNet) dialed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.dials...)
}

func newFakeNet(srv *httptest.Server) *fakeNet {
	f := &fakeNet{hosts: map[string][][]string{}, lookups: map[string]int{}, route: map[string]string{}}
	if srv != nil {
		f.route["93.184.216.34:80"] = srv.Listener.Addr().String()
	}
	f.hosts["public.test"] = [][]string{{"93.184.216.34"}}
	return f
}

func testServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "hello from ", r.Host)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, strings.Repeat("x", 100))
	})
	mux.HandleFunc("/bin", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write([]byte{0, 1, 2, 3})
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprint(w, `{"ok":true}`)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func fetch(t *testing.T, pol NetworkPolicy, url string) (WebFetchResult, error) {
	t.Helper()
	env, _, _ := newEnv(t, Policy{Network: pol}, nil)
	out, err := tool(t, "web_fetch").Run(context.Background(), env, mustJSON(t, map[string]any{"url": url}))
	if err != nil {
		return WebFetchResult{}, err
	}
	return decodeInto[WebFetchResult](t, out), nil
}

func TestWebFetchLoopback(t *testing.T) {
	srv := testServer(t)
	// Refused by default, with no connection attempted.
	fn := newFakeNet(nil)
	fn.route[srv.Listener.Addr().String()] = srv.Listener.Addr().String()
	_, err := fetch(t, NetworkPolicy{Enabled: true, Resolver: fn, Dial: fn.Dial}, srv.URL+"/hello")
	wantCode(t, err, CodeDenied)
	if !strings.Contains(err.Error(), "private or special-purpose") {
		t.Fatalf("message: %v", err)
	}
	if d := fn.dialed(); len(d) != 0 {
		t.Fatalf("dialed %v before refusing", d)
	}
	// Refused with the real dialer too.
	_, err = fetch(t, NetworkPolicy{Enabled: true}, srv.URL+"/hello")
	wantCode(t, err, CodeDenied)
	// Fetched when the policy allows private addresses (real dialer).
	res, err := fetch(t, NetworkPolicy{Enabled: true, AllowPrivate: true}, srv.URL+"/hello")
	wantCode(t, err, "")
	want := WebFetchResult{URL: srv.URL + "/hello", Status: 200, ContentType: "text/plain; charset=utf-8", Body: "hello from " + srv.Listener.Addr().String()}
	if res != want {
		t.Fatalf("got %+v\nwant %+v", res, want)
	}
}

func TestWebFetchResolvedAddressRefused(t *testing.T) {
	bad := []string{
		"127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
		"100.64.0.1", "0.0.0.0", "0.1.2.3", "224.0.0.1", "255.255.255.255", "240.0.0.1",
		"192.0.2.1", "198.18.0.1", "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::1", "2001:db8::1",
	}
	for _, ip := range bad {
		t.Run(ip, func(t *testing.T) {
			fn := newFakeNet(nil)
			fn.hosts["evil.test"] = [][]string{{ip}}
			_, err := fetch(t, NetworkPolicy{Enabled: true, Resolver: fn, Dial: fn.Dial}, "http://evil.test/")
			wantCode(t, err, CodeDenied)
			if !errors.Is(err, errAddressRefused) {
				t.Fatalf("not refused by the address check: %v", err)
			}
			if d := fn.dialed(); len(d) != 0 {
				t.Fatalf("dialed %v", d)
			}
		})
	}
	t.Run("mixed answer", func(t *testing.T) {
		fn := newFakeNet(nil)
		fn.hosts["mixed.test"] = [][]string{{"93.184.216.34", "10.0.0.1"}}
		_, err := fetch(t, NetworkPolicy{Enabled: true, Resolver: fn, Dial: fn.Dial}, "http://mixed.test/")
		wantCode(t, err, CodeDenied)
		if d := fn.dialed(); len(d) != 0 {
			t.Fatalf("dialed %v", d)
		}
	})
	t.Run("ip literal", func(t *testing.T) {
		fn := newFakeNet(nil)
		_, err := fetch(t, NetworkPolicy{Enabled: true, Resolver: fn, Dial: fn.Dial}, "http://[::ffff:169.254.169.254]/latest/meta-data")
		wantCode(t, err, CodeDenied)
		if d := fn.dialed(); len(d) != 0 {
			t.Fatalf("dialed %v", d)
		}
	})
}

func TestWebFetchPublicThroughFakeNet(t *testing.T) {
	srv := testServer(t)
	fn := newFakeNet(srv)
	pol := NetworkPolicy{Enabled: true, Resolver: fn, Dial: fn.Dial}
	res, err := fetch(t, pol, "http://public.test/hello")
	wantCode(t, err, "")
	if res.Status != 200 || res.Body != "hello from public.test" {
		t.Fatalf("%+v", res)
	}
	// The checked IP is dialled, never the name.
	if d := fn.dialed(); len(d) != 1 || d[0] != "93.184.216.34:80" {
		t.Fatalf("dialed %v", d)
	}
}

func TestWebFetchRedirects(t *testing.T) {
	srv := testServer(t)
	tests := []struct {
		name  string
		pol   func(*NetworkPolicy)
		hosts map[string][][]string
		url   string
		code  string
		dials int
	}{
		{"to loopback literal", nil, nil, "http://public.test/redirect?to=" + srv.URL + "/hello", CodeDenied, 1},
		{"to private name", nil, map[string][][]string{"internal.test": {{"10.0.0.5"}}}, "http://public.test/redirect?to=http://internal.test/", CodeDenied, 1},
		// DNS rebinding: the second lookup of the same name answers loopback.
		{"rebinding", nil, map[string][][]string{"rebind.test": {{"93.184.216.34"}, {"127.0.0.1"}}}, "http://rebind.test/redirect?to=http://rebind.test:8080/hello", CodeDenied, 1},
		{"to file scheme", nil, nil, "http://public.test/redirect?to=file:///etc/passwd", CodeInvalidInput, 1},
		{"to host off the allow-list", func(p *NetworkPolicy) { p.AllowHosts = []string{"public.test"} }, map[string][][]string{"other.test": {{"93.184.216.34"}}}, "http://public.test/redirect?to=http://other.test/hello", CodeDenied, 1},
		{"loop", nil, nil, "http://public.test/loop", CodeDenied, 6},
		{"redirects off", func(p *NetworkPolicy) { p.MaxRedirects = -1 }, nil, "http://public.test/loop", CodeDenied, 1},
		{"followed", nil, nil, "http://public.test/redirect?to=/json", "", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fn := newFakeNet(srv)
			for h, a := range tc.hosts {
				fn.hosts[h] = a
			}
			pol := NetworkPolicy{Enabled: true, Resolver: fn, Dial: fn.Dial}
			if tc.pol != nil {
				tc.pol(&pol)
			}
			res, err := fetch(t, pol, tc.url)
			wantCode(t, err, tc.code)
			if d := fn.dialed(); len(d) != tc.dials {
				t.Fatalf("dialed %v, want %d dials", d, tc.dials)
			}
			if tc.code == "" && (res.Status != http.StatusTeapot || res.URL != "http://public.test/json") {
				t.Fatalf("%+v", res)
			}
		})
	}
}

func TestWebFetchResults(t *testing.T) {
	srv := testServer(t)
	tests := []struct {
		name string
		pol  NetworkPolicy
		url  string
		code string
		want WebFetchResult
	}{
		{"truncated", NetworkPolicy{MaxBytes: 10}, "/big", "", WebFetchResult{Status: 200, ContentType: "text/plain", Body: "xxxxxxxxxx", Truncated: true}},
		{"exact size", NetworkPolicy{MaxBytes: 100}, "/big", "", WebFetchResult{Status: 200, ContentType: "text/plain", Body: strings.Repeat("x", 100)}},
		{"binary", NetworkPolicy{}, "/bin", "", WebFetchResult{Status: 200, ContentType: "application/octet-stream", Binary: true}},
		{"status and json", NetworkPolicy{}, "/json", "", WebFetchResult{Status: 418, ContentType: "application/json", Body: `{"ok":true}`}},
		{"not found status", NetworkPolicy{}, "/nothing", "", WebFetchResult{Status: 404, ContentType: "text/plain; charset=utf-8", Body: "404 page not found\n"}},
		{"timeout", NetworkPolicy{Timeout: 100 * time.Millisecond}, "/slow", CodeTimeout, WebFetchResult{}},
		{"disabled", NetworkPolicy{}, "/hello", CodeDenied, WebFetchResult{}},
		{"host not allowed", NetworkPolicy{AllowHosts: []string{"*.example.com"}}, "/hello", CodeDenied, WebFetchResult{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fn := newFakeNet(srv)
			pol := tc.pol
			pol.Enabled = tc.name != "disabled"
			pol.Resolver, pol.Dial = fn, fn.Dial
			res, err := fetch(t, pol, "http://public.test"+tc.url)
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			tc.want.URL = "http://public.test" + tc.url
			if res != tc.want {
				t.Fatalf("got %+v\nwant %+v", res, tc.want)
			}
		})
	}
}

func TestWebFetchInput(t *testing.T) {
	fn := newFakeNet(nil)
	for _, u := range []string{"file:///etc/passwd", "ftp://x/", "gopher://x", "http://", "http://user:pw@public.test/", "::not a url", "javascript:alert(1)"} {
		t.Run(u, func(t *testing.T) {
			_, err := fetch(t, NetworkPolicy{Enabled: true, Resolver: fn, Dial: fn.Dial}, u)
			wantCode(t, err, CodeInvalidInput)
		})
	}
	if d := fn.dialed(); len(d) != 0 {
		t.Fatalf("dialed %v", d)
	}
	t.Run("unresolvable", func(t *testing.T) {
		_, err := fetch(t, NetworkPolicy{Enabled: true, Resolver: fn, Dial: fn.Dial}, "http://nxdomain.test/")
		wantCode(t, err, CodeFailed)
	})
}

func TestWebAction(t *testing.T) {
	a, err := tool(t, "web_fetch").Action(nil, mustJSON(t, map[string]any{"url": "https://API.Example.com:8443/v1?q=1"}))
	wantCode(t, err, "")
	if a.Name != "net.egress" || a.Host != "api.example.com" || a.Tool != "web_fetch" || a.Extra["url"] != "https://API.Example.com:8443/v1?q=1" {
		t.Fatalf("%+v", a)
	}
}

func TestHostAllowed(t *testing.T) {
	pol := NetworkPolicy{AllowHosts: []string{"docs.go.dev", "*.example.com"}}
	for host, want := range map[string]bool{
		"docs.go.dev": true, "DOCS.go.dev": true, "docs.go.dev.": true, "go.dev": false,
		"a.example.com": true, "a.b.example.com": true, "example.com": false, "badexample.com": false, "example.com.evil": false,
	} {
		if got := hostAllowed(pol, host); got != want {
			t.Errorf("%s: got %v", host, got)
		}
	}
	if !hostAllowed(NetworkPolicy{}, "anything") {
		t.Error("empty allow-list should allow any host")
	}
}

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		ip            string
		strict, loose bool // allowed by default, allowed with AllowPrivate
	}{
		{"93.184.216.34", true, true}, {"8.8.8.8", true, true}, {"2606:4700::1111", true, true},
		{"127.0.0.1", false, true}, {"10.0.0.1", false, true}, {"169.254.1.1", false, true},
		{"fe80::1", false, true}, {"100.64.0.1", false, true}, {"::1", false, true},
		{"0.0.0.0", false, false}, {"::", false, false}, {"224.0.0.1", false, false},
		{"ff02::1", false, false}, {"255.255.255.255", false, false},
	}
	for _, tc := range tests {
		ip := netip.MustParseAddr(tc.ip)
		if got := checkAddr(ip, false) == nil; got != tc.strict {
			t.Errorf("%s default: allowed=%v", tc.ip, got)
		}
		if got := checkAddr(ip, true) == nil; got != tc.loose {
			t.Errorf("%s allowPrivate: allowed=%v", tc.ip, got)
		}
	}
	ctl := dialControl(false)
	if ctl("tcp4", "127.0.0.1:80", nil) == nil || ctl("tcp4", "garbage", nil) == nil || ctl("tcp4", "8.8.8.8:53", nil) != nil {
		t.Error("dial control hook")
	}
}
