package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// feedOA runs data payloads through the OpenAI stream state machine.
func feedOA(payloads ...string) (*Response, []Delta, error) {
	s := newOAStream("t")
	var ds []Delta
	for _, p := range payloads {
		done, err := s.handle([]byte(p), func(d Delta) { ds = append(ds, d) })
		if err != nil {
			return nil, ds, err
		}
		if done {
			r, err := s.finish(true)
			return r, ds, err
		}
	}
	r, err := s.finish(false)
	return r, ds, err
}

func TestOpenAIStreamVariants(t *testing.T) {
	cases := []struct {
		name     string
		payloads []string
		text     string
		calls    string // name(args);…
		stop     StopReason
		usage    Usage
		err      error
	}{
		{"indexed fragments, parallel",
			[]string{
				`{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null}]}`,
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","type":"function","function":{"name":"g","arguments":"{\"x\""}}]}}]}`,
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}`,
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":":1}"}}]}}]}`,
				`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
				`{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":4}}}`,
				`[DONE]`},
			"", `f({});g({"x":1})`, StopToolUse, Usage{InputTokens: 6, OutputTokens: 3, CacheReadTokens: 4}, nil},
		{"no index, whole calls (local servers)",
			[]string{
				`{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\"a\":1}"}},{"id":"b","function":{"name":"g","arguments":"{}"}}]}}]}`,
				`{"choices":[{"delta":{},"finish_reason":"stop"}]}`, `[DONE]`},
			"", `f({"a":1});g({})`, StopToolUse, Usage{}, nil},
		{"no ids get synthetic ones",
			[]string{`{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"f"}}]},"finish_reason":"tool_calls"}]}`},
			"", `f({})`, StopToolUse, Usage{}, nil},
		{"no [DONE] after finish_reason is accepted",
			[]string{`{"choices":[{"delta":{"content":"hi"}}]}`, `{"choices":[{"delta":{},"finish_reason":"length"}]}`},
			"hi", "", StopMaxTokens, Usage{}, nil},
		{"vLLM usage chunk with null choices",
			[]string{`{"choices":[{"delta":{"content":"a"},"finish_reason":"stop"}]}`, `{"choices":null,"usage":{"prompt_tokens":1,"completion_tokens":1}}`, `[DONE]`},
			"a", "", StopEnd, Usage{InputTokens: 1, OutputTokens: 1}, nil},
		{"refusal streamed as text",
			[]string{`{"choices":[{"delta":{"refusal":"no"},"finish_reason":"content_filter"}]}`, `[DONE]`},
			"no", "", StopContentFilter, Usage{}, nil},
		{"other choices ignored",
			[]string{`{"choices":[{"index":1,"delta":{"content":"x"}},{"index":0,"delta":{"content":"y"}}]}`, `[DONE]`},
			"y", "", StopEnd, Usage{}, nil},
		{"cut short", []string{`{"choices":[{"delta":{"content":"a"}}]}`}, "", "", "", Usage{}, ErrUnavailable},
		{"bad json", []string{`{"choices":[`}, "", "", "", Usage{}, ErrBadResponse},
		{"call without name", []string{`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"x"}]}}]}`, `[DONE]`}, "", "", "", Usage{}, ErrBadResponse},
		{"negative index", []string{`{"choices":[{"delta":{"tool_calls":[{"index":-1,"id":"x"}]}}]}`}, "", "", "", Usage{}, ErrBadResponse},
		{"error in stream", []string{`{"error":{"message":"boom","type":"server_error"}}`}, "", "", "", Usage{}, ErrUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _, err := feedOA(tc.payloads...)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var calls []string
			for _, c := range r.Message.ToolCalls {
				if c.ID == "" {
					t.Errorf("call %s without id", c.Name)
				}
				calls = append(calls, c.Name+"("+string(c.Arguments)+")")
			}
			if r.Message.Content != tc.text || strings.Join(calls, ";") != tc.calls || r.StopReason != tc.stop || r.Usage != tc.usage {
				t.Fatalf("got text %q calls %q stop %q usage %+v", r.Message.Content, strings.Join(calls, ";"), r.StopReason, r.Usage)
			}
		})
	}
}

func feedAN(events ...[2]string) (*Response, []Delta, error) {
	s := newANStream("t")
	var ds []Delta
	for _, ev := range events {
		done, err := s.handle(ev[0], []byte(ev[1]), func(d Delta) { ds = append(ds, d) })
		if err != nil {
			return nil, ds, err
		}
		if done {
			r, err := s.finish(true)
			return r, ds, err
		}
	}
	r, err := s.finish(false)
	return r, ds, err
}

func TestAnthropicStreamVariants(t *testing.T) {
	start := [2]string{"message_start", `{"type":"message_start","message":{"id":"msg_1","model":"claude","usage":{"input_tokens":25,"output_tokens":1,"cache_read_input_tokens":100}}}`}
	stop := [2]string{"message_stop", `{"type":"message_stop"}`}
	t.Run("text, thinking, tool use, usage", func(t *testing.T) {
		r, ds, err := feedAN(start,
			[2]string{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}`},
			[2]string{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}`},
			[2]string{"content_block_stop", `{"type":"content_block_stop","index":0}`},
			[2]string{"content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}`},
			[2]string{"ping", `{"type": "ping"}`},
			[2]string{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hi"}}`},
			[2]string{"content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}`},
			[2]string{"content_block_delta", `{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}`},
			[2]string{"content_block_delta", `{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}`},
			[2]string{"content_block_delta", `{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"1}"}}`},
			[2]string{"content_block_start", `{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_2","name":"g","input":{}}}`},
			[2]string{"future_event", `{"type":"future_event"}`},
			[2]string{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":42}}`},
			stop)
		if err != nil {
			t.Fatal(err)
		}
		if r.Message.Content != "Hi" || len(r.Message.ToolCalls) != 2 || string(r.Message.ToolCalls[0].Arguments) != `{"a":1}` ||
			string(r.Message.ToolCalls[1].Arguments) != `{}` || r.StopReason != StopToolUse || r.ID != "msg_1" {
			t.Fatalf("got %+v", r)
		}
		if r.Usage != (Usage{InputTokens: 25, OutputTokens: 42, CacheReadTokens: 100}) {
			t.Errorf("usage %+v", r.Usage)
		}
		if len(ds) != 5 || ds[1].Kind != DeltaToolCall || ds[1].Index != 0 || ds[4].Index != 1 {
			t.Errorf("deltas %+v", ds)
		}
	})
	bad := []struct {
		name   string
		events [][2]string
		err    error
	}{
		{"delta for unknown block", [][2]string{start, {"content_block_delta", `{"type":"content_block_delta","index":5,"delta":{"type":"text_delta","text":"x"}}`}}, ErrBadResponse},
		{"duplicate block", [][2]string{start,
			{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
			{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`}}, ErrBadResponse},
		{"json delta into text block", [][2]string{start,
			{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
			{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{"}}`}}, ErrBadResponse},
		{"overloaded error event", [][2]string{start, {"error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`}}, ErrUnavailable},
		{"cut", [][2]string{start}, ErrUnavailable},
		{"garbage", [][2]string{{"message_start", `nope`}}, ErrBadResponse},
		{"start without message", [][2]string{{"message_start", `{"type":"message_start"}`}}, ErrBadResponse},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := feedAN(tc.events...); !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		h    map[string]string
		want time.Duration
	}{
		{map[string]string{"Retry-After": "2"}, 2 * time.Second},
		{map[string]string{"Retry-After": "0"}, 0},
		{map[string]string{"Retry-After": "-5"}, 0},
		{map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{map[string]string{"Retry-After": now.Add(-time.Hour).Format(http.TimeFormat)}, 0},
		{map[string]string{"Retry-After": "tomorrow"}, 0},
		{map[string]string{"retry-after-ms": "250", "Retry-After": "9"}, 250 * time.Millisecond},
		{map[string]string{"retry-after-ms": "x", "Retry-After": "9"}, 9 * time.Second},
		{map[string]string{}, 0},
	}
	for _, tc := range cases {
		h := http.Header{}
		for k, v := range tc.h {
			h.Set(k, v)
		}
		if got := parseRetryAfter(h, now); got != tc.want {
			t.Errorf("%v: got %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestJitterBounds(t *testing.T) {
	for n := 0; n < 12; n++ {
		d := min(backoffCap, backoffBase<<min(n, 5))
		lo, hi := jitter(n, 0), jitter(n, 0.999999)
		if lo != d/2 || hi >= d || hi < lo {
			t.Errorf("n=%d: range [%v,%v], want [%v,%v)", n, lo, hi, d/2, d)
		}
	}
	if jitter(1, 7) != jitter(1, 0) {
		t.Error("out-of-range random value not clamped")
	}
}

func TestParseAPIErrorShapes(t *testing.T) {
	cases := []struct {
		body           string
		typ, code, msg string
	}{
		{`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, "overloaded_error", "", "Overloaded"},
		{`{"error":{"message":"m","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}}`, "invalid_request_error", "context_length_exceeded", "m"},
		{`{"error":{"message":"m","code":429}}`, "", "429", "m"},
		{`{"error":"model not found"}`, "", "", "model not found"},
		{`{"message":"flat"}`, "", "", "flat"},
		{`{"detail":"fastapi style"}`, "", "", "fastapi style"},
		{`{"detail":[{"loc":["body"],"msg":"x"}]}`, "", "", `[{"loc":["body"],"msg":"x"}]`},
		{`upstream connect error`, "", "", "upstream connect error"},
		{`<html>502</html>`, "", "", "Bad Gateway"},
		{``, "", "", "Bad Gateway"},
	}
	for _, tc := range cases {
		e := parseAPIError("p", 502, nil, []byte(tc.body), time.Time{})
		if e.Type != tc.typ || e.Code != tc.code || e.Message != tc.msg {
			t.Errorf("%s: got type %q code %q msg %q", tc.body, e.Type, e.Code, e.Message)
		}
	}
}

func TestSecretFormatting(t *testing.T) {
	s := secret("sk-abc")
	for _, f := range []string{"%v", "%s", "%q", "%+v", "%#v", "%x"} {
		if got := sprintf(f, s); strings.Contains(got, "sk-abc") {
			t.Errorf("%s leaks: %s", f, got)
		}
	}
}

func FuzzOpenAIStream(f *testing.F) {
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"content":"hi","tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{"}}]},"finish_reason":null}]}`))
	f.Add([]byte(`{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f"}},{"id":"b"}]}}]}`))
	f.Add([]byte(`{"error":{"message":"x"}}`))
	f.Add([]byte(`[DONE]`))
	f.Add([]byte(`{"choices":[],"usage":{"prompt_tokens":-5,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":9}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newOAStream("fuzz")
		// Split the input into several payloads at newlines so sequences of
		// chunks are explored, not just single ones.
		for _, p := range strings.Split(string(data), "\n") {
			done, err := s.handle([]byte(p), func(Delta) {})
			if err != nil || done {
				break
			}
		}
		r, err := s.finish(true)
		if err == nil {
			if len(r.Message.ToolCalls) > maxToolCalls {
				t.Fatalf("%d tool calls", len(r.Message.ToolCalls))
			}
			for _, c := range r.Message.ToolCalls {
				if c.Name == "" || c.ID == "" || len(c.Arguments) == 0 {
					t.Fatalf("incomplete call %+v", c)
				}
			}
		}
	})
}

func FuzzAnthropicStream(f *testing.F) {
	f.Add([]byte("message_start\t{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":1}}}\ncontent_block_start\t{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}\ncontent_block_delta\t{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\nmessage_stop\t{\"type\":\"message_stop\"}"))
	f.Add([]byte("error\t{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}"))
	f.Add([]byte("content_block_start\t{\"type\":\"content_block_start\",\"index\":99999999,\"content_block\":{\"type\":\"text\"}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newANStream("fuzz")
		for _, line := range strings.Split(string(data), "\n") {
			typ, payload, _ := strings.Cut(line, "\t")
			done, err := s.handle(typ, []byte(payload), func(Delta) {})
			if err != nil || done {
				break
			}
		}
		r, err := s.finish(true)
		if err == nil {
			for i, c := range r.Message.ToolCalls {
				if c.Name == "" {
					t.Fatalf("call %d without name: %+v", i, c)
				}
			}
		}
	})
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

func TestScrubAndClock(t *testing.T) {
	tr := &transport{cfg: &resolved{key: "sk-very-secret"}}
	base := errors.New("dial failed for sk-very-secret")
	err := tr.scrub(base)
	if strings.Contains(err.Error(), "sk-very-secret") || !errors.Is(err, base) {
		t.Fatalf("scrub: %v", err)
	}
	short := &transport{cfg: &resolved{key: "abc"}}
	if short.redact("abc") != "abc" {
		t.Error("keys shorter than 4 bytes must not be redacted (would mangle text)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := SystemClock.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep ignored cancellation: %v", err)
	}
	if err := SystemClock.Sleep(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}

func TestUsageArithmetic(t *testing.T) {
	a := Usage{InputTokens: 1, OutputTokens: 2, CacheReadTokens: 3, CacheWriteTokens: 4}
	if a.Total() != 10 || a.Add(a) != (Usage{2, 4, 6, 8}) {
		t.Fatalf("total %d add %+v", a.Total(), a.Add(a))
	}
}

func TestShouldRetryHeader(t *testing.T) {
	cases := []struct {
		status int
		header string
		want   bool
	}{
		{500, "", true}, {500, "false", false}, {400, "true", true}, {400, "", false}, {429, "FALSE", false},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.header != "" {
			h.Set("x-should-retry", tc.header)
		}
		if got := Retryable(parseAPIError("p", tc.status, h, nil, time.Time{})); got != tc.want {
			t.Errorf("status %d x-should-retry %q: Retryable = %v", tc.status, tc.header, got)
		}
	}
}
