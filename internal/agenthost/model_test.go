package agenthost

import (
	"testing"

	"github.com/weftos/weftos/internal/llm"
)

// TestProviderEndpoint: only a loopback IP literal or localhost counts as
// this machine; every other host is remote, whatever it resolves to.
func TestProviderEndpoint(t *testing.T) {
	for _, tc := range []struct {
		kind    llm.Kind
		baseURL string
		want    Endpoint
	}{
		{llm.KindAnthropic, "", Endpoint{Host: "api.anthropic.com"}},
		{llm.KindOpenAI, "http://127.0.0.1:11434/v1", Endpoint{Host: "127.0.0.1", Loopback: true}},
		{llm.KindOpenAI, "http://127.9.9.9/v1", Endpoint{Host: "127.9.9.9", Loopback: true}},
		{llm.KindOpenAI, "http://[::1]:8080/", Endpoint{Host: "::1", Loopback: true}},
		{llm.KindOpenAI, "http://LocalHost:8080", Endpoint{Host: "localhost", Loopback: true}},
		{llm.KindOpenAI, "http://models.localhost/v1", Endpoint{Host: "models.localhost", Loopback: true}},
		{llm.KindOpenAI, "http://10.0.0.5:8000/v1", Endpoint{Host: "10.0.0.5"}},
		{llm.KindOpenAI, "https://localhost.example.com/v1", Endpoint{Host: "localhost.example.com"}},
		{llm.KindOpenAI, "://bad", Endpoint{}},
	} {
		if got := ProviderEndpoint(tc.kind, tc.baseURL); got != tc.want {
			t.Errorf("ProviderEndpoint(%s, %q) = %+v, want %+v", tc.kind, tc.baseURL, got, tc.want)
		}
	}
}
