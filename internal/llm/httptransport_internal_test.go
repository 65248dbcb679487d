package llm

import (
	"errors"
	"net/http"
	"testing"

	"github.com/weftos/weftos/internal/inlinehttp"
)

// TestDefaultHTTPTransport: the default client does plain http:// over
// internal/inlinehttp (net/http behind it for the rest), https over
// net/http, and HTTPTransport chooses.
func TestDefaultHTTPTransport(t *testing.T) {
	for _, tc := range []struct {
		base, mode string
		inline     bool
		err        bool
	}{
		{"http://127.0.0.1:11434/v1", "", true, false},
		{"http://127.0.0.1:11434/v1", TransportInline, true, false},
		{"http://127.0.0.1:11434/v1", TransportNetHTTP, false, false},
		{"https://api.openai.com/v1", "", false, false},
		{"https://api.openai.com/v1", TransportInline, false, false},
		{"http://127.0.0.1:11434/v1", "fast", false, true},
	} {
		r, err := resolve(Config{Kind: KindOpenAI, BaseURL: tc.base, HTTPTransport: tc.mode})
		if tc.err {
			if !errors.Is(err, ErrBadRequest) {
				t.Errorf("%s %q: err = %v, want ErrBadRequest", tc.base, tc.mode, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		it, inline := r.HTTPClient.Transport.(*inlinehttp.Transport)
		if inline != tc.inline {
			t.Errorf("%s %q: transport %T", tc.base, tc.mode, r.HTTPClient.Transport)
		}
		if inline {
			if _, ok := it.Fallback.(*http.Transport); !ok {
				t.Errorf("%s: fallback %T, want *http.Transport", tc.base, it.Fallback)
			}
			if it.MaxIdleConnsPerHost != MaxIdleConns || it.Proxy == nil {
				t.Errorf("%s: pool %d, proxy %v", tc.base, it.MaxIdleConnsPerHost, it.Proxy != nil)
			}
		}
	}
}
