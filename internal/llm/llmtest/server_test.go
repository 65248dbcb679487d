package llmtest

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func post(t *testing.T, s *Server, path, body string, h map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestValidation: the servers reject what the real APIs reject, with the
// vendor's error body, without consuming a turn.
func TestValidation(t *testing.T) {
	an := map[string]string{"anthropic-version": AnthropicVersion}
	cases := []struct {
		name    string
		openai  bool
		body    string
		headers map[string]string
		want    string
	}{
		{"oa ok", true, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, nil, ""},
		{"oa no model", true, `{"messages":[{"role":"user","content":"hi"}]}`, nil, "model parameter"},
		{"oa orphan tool", true, `{"model":"m","messages":[{"role":"tool","tool_call_id":"x","content":"r"}]}`, nil, "preceding message with 'tool_calls'"},
		{"oa unanswered call", true, `{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"user","content":"x"}]}`, nil, "missing a"},
		{"oa object arguments", true, `{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":{}}}]},{"role":"tool","tool_call_id":"a","content":"r"}]}`, nil, "arguments must be a string"},
		{"oa stream_options without stream", true, `{"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}`, nil, "only allowed when 'stream' is enabled"},
		{"oa bad tool name", true, `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"read file"}}]}`, nil, "does not match"},
		{"an ok", false, `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, an, ""},
		{"an no version", false, `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, nil, "anthropic-version"},
		{"an no max_tokens", false, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, an, "max_tokens: Field required"},
		{"an system role", false, `{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"hi"}]}`, an, "'user' or 'assistant'"},
		{"an empty text", false, `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}`, an, "non-empty"},
		{"an missing result", false, `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":"no result"}]}`, an, "without tool_result"},
		{"an result first", false, `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":[{"type":"text","text":"a"},{"type":"tool_result","tool_use_id":"t1","content":"r"}]}]}`, an, "must come before"},
		{"an wrong id", false, `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t2","content":"r"}]}]}`, an, "unexpected tool_use_id"},
		{"an input not object", false, `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":"{}"}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1"}]}]}`, an, "input object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s *Server
			path := "/v1/messages"
			if tc.openai {
				s, path = NewOpenAI(Options{}), "/v1/chat/completions"
			} else {
				s = NewAnthropic(Options{})
			}
			defer s.Close()
			s.Push(Text("ok"))
			status, body := post(t, s, path, tc.body, tc.headers)
			if tc.want == "" {
				if status != 200 || len(s.Violations()) != 0 || s.Remaining() != 0 {
					t.Fatalf("status %d body %s violations %v", status, body, s.Violations())
				}
				return
			}
			if status != 400 || !strings.Contains(body, tc.want) || s.Remaining() != 1 || len(s.Violations()) != 1 {
				t.Fatalf("status %d body %s remaining %d", status, body, s.Remaining())
			}
			if tc.openai && !strings.Contains(body, `"type":"invalid_request_error"`) {
				t.Errorf("not an OpenAI error body: %s", body)
			}
			if !tc.openai && !strings.HasPrefix(body, `{"error":{"message"`) && !strings.Contains(body, `"type":"error"`) {
				t.Errorf("not an Anthropic error body: %s", body)
			}
		})
	}
}

func TestStreamWireFormat(t *testing.T) {
	s := NewAnthropic(Options{})
	defer s.Close()
	s.Push(Turn{Text: "a b", ToolCalls: []ToolCall{{ID: "t", Name: "f", Arguments: `{"k":"vvvvvvvvvvvv"}`}}})
	status, body := post(t, s, "/v1/messages",
		`{"model":"m","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"anthropic-version": AnthropicVersion})
	if status != 200 {
		t.Fatal(status, body)
	}
	var events []string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if e, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			events = append(events, e)
		}
	}
	want := "message_start content_block_start ping content_block_delta content_block_delta content_block_stop " +
		"content_block_start content_block_delta content_block_delta content_block_delta content_block_delta content_block_stop message_delta message_stop"
	if got := strings.Join(events, " "); got != want {
		t.Fatalf("events:\n%s\nwant:\n%s", got, want)
	}
	for _, frag := range []string{`"partial_json":""`, `"text":" b"`, `"type":"text_delta"`, `"stop_reason":"tool_use"`} {
		if !strings.Contains(body, frag) {
			t.Errorf("stream lacks %s", frag)
		}
	}
}

func TestSplitText(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		want []string
	}{
		{"a bb  c", 0, []string{"a", " bb", "  c"}},
		{"héllo", 2, []string{"hé", "llo"}},
		{"ab", 5, []string{"a", "b"}},
		{"", 3, nil},
	}
	for _, tc := range cases {
		got := splitText(tc.in, tc.n)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("splitText(%q,%d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
	for _, f := range fragments("ééééééééé") {
		if !utf8.ValidString(f) {
			t.Errorf("fragment %q splits a rune", f)
		}
	}
}

func TestScriptExhaustedAndHandler(t *testing.T) {
	s := NewOpenAI(Options{})
	defer s.Close()
	status, body := post(t, s, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}]}`, nil)
	if status != 500 || !strings.Contains(body, "script exhausted") {
		t.Fatalf("%d %s", status, body)
	}
	h := NewOpenAI(Options{Handler: func(r Request) Turn { return Text("echo " + r.Map()["model"].(string)) }})
	defer h.Close()
	status, body = post(t, h, "/v1/chat/completions", `{"model":"mm","messages":[{"role":"user","content":"x"}]}`, nil)
	if status != 200 || !strings.Contains(body, `"content":"echo mm"`) {
		t.Fatalf("%d %s", status, body)
	}
}

func TestLatencyAndHangRespectClientDeparture(t *testing.T) {
	arrived := make(chan struct{}, 2)
	s := NewOpenAI(Options{Latency: time.Hour, OnRequest: func(Request) { arrived <- struct{}{} }})
	defer s.Close()
	s.Push(Text("late"), Turn{Hang: true, Latency: time.Nanosecond})
	for i := 0; i < 2; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/chat/completions",
			strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"x"}]}`))
		req.Header.Set("Content-Type", "application/json")
		done := make(chan error, 1)
		go func() {
			resp, err := s.Client().Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		<-arrived // the server holds the request; now the client leaves
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("request %d: err = %v", i, err)
		}
	}
	if s.Served() != 2 {
		t.Fatalf("served %d", s.Served())
	}
}
