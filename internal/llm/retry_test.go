package llm_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

func TestRetryHonoursRetryAfter(t *testing.T) {
	httpDate := func(f *fixture) string { return f.clock.Now().Add(7 * time.Second).UTC().Format(http.TimeFormat) }
	cases := []struct {
		name       string
		retryAfter func(*fixture) string
		want       time.Duration
	}{
		{"seconds", func(*fixture) string { return "3" }, 3 * time.Second},
		{"fractional seconds", func(*fixture) string { return "1.5" }, 1500 * time.Millisecond},
		{"http date", httpDate, 7 * time.Second},
		{"garbage falls back to backoff", func(*fixture) string { return "soon" }, 375 * time.Millisecond},
	}
	for _, kind := range kinds {
		for _, tc := range cases {
			t.Run(string(kind)+"/"+tc.name, func(t *testing.T) {
				f := newFixture(t, kind, llmtest.Options{}, nil)
				f.srv.Push(llmtest.RateLimited(tc.retryAfter(f)), llmtest.Text("ok"))
				resp, err := f.p.Chat(context.Background(), userReq("m", "hi"), func(llm.Delta) {})
				if err != nil {
					t.Fatal(err)
				}
				if resp.Message.Content != "ok" {
					t.Fatalf("content %q", resp.Message.Content)
				}
				if got := f.clock.Sleeps(); len(got) != 1 || got[0] != tc.want {
					t.Fatalf("sleeps %v, want [%v]", got, tc.want)
				}
			})
		}
	}
}

func TestRetryBackoffOnServerErrors(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			f := newFixture(t, kind, llmtest.Options{}, func(c *llm.Config) { c.MaxRetries = 3 })
			f.srv.Push(llmtest.Fail(500), llmtest.Fail(502), llmtest.Fail(529), llmtest.Text("finally"))
			resp, err := f.p.Chat(context.Background(), userReq("m", "hi"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Message.Content != "finally" {
				t.Fatalf("content %q", resp.Message.Content)
			}
			// Rand is fixed at 0.5: wait = d/2 + 0.5*d/2 with d = 500ms·2ⁿ.
			want := []time.Duration{375 * time.Millisecond, 750 * time.Millisecond, 1500 * time.Millisecond}
			got := f.clock.Sleeps()
			if len(got) != len(want) {
				t.Fatalf("sleeps %v, want %v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("sleeps %v, want %v", got, want)
				}
			}
			if !strings.Contains(f.logs.String(), "retrying") {
				t.Error("retries not logged")
			}
		})
	}
}

func TestRetryExhausted(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			f := newFixture(t, kind, llmtest.Options{}, nil)
			f.srv.Push(llmtest.Fail(503), llmtest.Fail(503), llmtest.Fail(503), llmtest.Text("never"))
			_, err := f.p.Chat(context.Background(), userReq("m", "hi"), nil)
			var ae *llm.APIError
			if !errors.As(err, &ae) || ae.Status != 503 || !errors.Is(err, llm.ErrUnavailable) || !llm.Retryable(err) {
				t.Fatalf("err = %v", err)
			}
			if f.srv.Served() != 3 || len(f.clock.Sleeps()) != 2 {
				t.Fatalf("served %d, slept %v; want 3 attempts (DefaultMaxRetries=2)", f.srv.Served(), f.clock.Sleeps())
			}
		})
	}
}

func TestRetryAfterBeyondCapIsNotAwaited(t *testing.T) {
	f := newFixture(t, llm.KindAnthropic, llmtest.Options{}, func(c *llm.Config) { c.MaxRetryAfter = 10 * time.Second })
	f.srv.Push(llmtest.RateLimited("3600"), llmtest.Text("never"))
	_, err := f.p.Chat(context.Background(), userReq("m", "hi"), nil)
	var ae *llm.APIError
	if !errors.As(err, &ae) || !errors.Is(err, llm.ErrRateLimited) || ae.RetryAfter != time.Hour {
		t.Fatalf("err = %#v", err)
	}
	if len(f.clock.Sleeps()) != 0 || f.srv.Served() != 1 {
		t.Fatalf("slept %v, served %d", f.clock.Sleeps(), f.srv.Served())
	}
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		name      string
		err       llmtest.Error
		is        []error
		isNot     []error
		retryable bool
	}{
		{"401", llmtest.Error{Status: 401}, []error{llm.ErrAuth}, []error{llm.ErrRateLimited, llm.ErrUnavailable}, false},
		{"403", llmtest.Error{Status: 403}, []error{llm.ErrAuth}, nil, false},
		{"400 context openai", llmtest.Error{Status: 400, Code: "context_length_exceeded",
			Message: "This model's maximum context length is 128000 tokens."}, []error{llm.ErrContextLength}, []error{llm.ErrAuth}, false},
		{"400 prompt too long", llmtest.Error{Status: 400, Message: "prompt is too long: 210000 tokens > 200000 maximum"},
			[]error{llm.ErrContextLength}, nil, false},
		{"400 plain", llmtest.Error{Status: 400, Message: "bad things"}, nil, []error{llm.ErrContextLength, llm.ErrUnavailable}, false},
		{"413", llmtest.Error{Status: 413}, []error{llm.ErrContextLength}, nil, false},
		{"404", llmtest.Error{Status: 404, Message: "model: nope"}, nil, []error{llm.ErrAuth, llm.ErrUnavailable}, false},
	}
	for _, kind := range kinds {
		for _, tc := range cases {
			t.Run(string(kind)+"/"+tc.name, func(t *testing.T) {
				f := newFixture(t, kind, llmtest.Options{}, nil)
				e := tc.err
				f.srv.Push(llmtest.Turn{Error: &e})
				_, err := f.p.Chat(context.Background(), userReq("m", "hi"), nil)
				var ae *llm.APIError
				if !errors.As(err, &ae) {
					t.Fatalf("err %v is not *APIError", err)
				}
				if ae.Status != tc.err.Status || ae.Provider != string(kind) || ae.Type == "" || ae.RequestID != "req_llmtest" {
					t.Errorf("APIError %+v", ae)
				}
				if tc.err.Message != "" && ae.Message != tc.err.Message {
					t.Errorf("message %q, want %q", ae.Message, tc.err.Message)
				}
				for _, s := range tc.is {
					if !errors.Is(err, s) {
						t.Errorf("errors.Is(%v, %v) = false", err, s)
					}
				}
				for _, s := range tc.isNot {
					if errors.Is(err, s) {
						t.Errorf("errors.Is(%v, %v) = true", err, s)
					}
				}
				if llm.Retryable(err) != tc.retryable {
					t.Errorf("Retryable = %v", !tc.retryable)
				}
				if f.srv.Served() != 1 {
					t.Errorf("client error retried: %d attempts", f.srv.Served())
				}
			})
		}
	}
}

func TestStreamErrorEvent(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind)+"/before output is retried", func(t *testing.T) {
			f := newFixture(t, kind, llmtest.Options{}, nil)
			f.srv.Push(llmtest.Turn{Text: "abc def", StreamError: &llmtest.Error{}}, llmtest.Text("second try"))
			var c collector
			resp, err := f.p.Chat(context.Background(), userReq("m", "hi"), c.on)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Message.Content != "second try" || c.text() != "second try" {
				t.Fatalf("content %q streamed %q", resp.Message.Content, c.text())
			}
		})
		t.Run(string(kind)+"/after output is returned", func(t *testing.T) {
			f := newFixture(t, kind, llmtest.Options{}, nil)
			f.srv.Push(llmtest.Turn{Text: "abc def ghi", StreamError: &llmtest.Error{}, StreamErrorAfter: 2}, llmtest.Text("never"))
			var c collector
			_, err := f.p.Chat(context.Background(), userReq("m", "hi"), c.on)
			var ae *llm.APIError
			if !errors.As(err, &ae) || ae.Status != 0 || !errors.Is(err, llm.ErrUnavailable) {
				t.Fatalf("err = %v", err)
			}
			if c.text() != "abc def" || f.srv.Served() != 1 {
				t.Fatalf("streamed %q, served %d", c.text(), f.srv.Served())
			}
		})
	}
}

func TestStreamCut(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind)+"/before output", func(t *testing.T) {
			f := newFixture(t, kind, llmtest.Options{}, nil)
			f.srv.Push(llmtest.Turn{Text: "one two", CutAfter: 1}, llmtest.Text("whole"))
			resp, err := f.p.Chat(context.Background(), userReq("m", "hi"), func(llm.Delta) {})
			if err != nil || resp.Message.Content != "whole" {
				t.Fatalf("resp %+v err %v", resp, err)
			}
		})
		t.Run(string(kind)+"/after output", func(t *testing.T) {
			f := newFixture(t, kind, llmtest.Options{}, nil)
			f.srv.Push(llmtest.Turn{Text: "one two three four", CutAfter: 4}, llmtest.Text("never"))
			var c collector
			_, err := f.p.Chat(context.Background(), userReq("m", "hi"), c.on)
			if !errors.Is(err, llm.ErrUnavailable) || c.text() == "" || f.srv.Served() != 1 {
				t.Fatalf("err %v streamed %q served %d", err, c.text(), f.srv.Served())
			}
		})
	}
}

func TestConnectionErrorRetriedThenReported(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	url := srv.URL
	srv.Close() // nothing listens any more
	clock := newFakeClock()
	p, err := llm.NewOpenAI(llm.Config{BaseURL: url, Clock: clock, Rand: func() float64 { return 0 },
		HTTPClient: &http.Client{Transport: &http.Transport{}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.CloseIdleConnections()
	_, err = p.Chat(context.Background(), userReq("m", "hi"), nil)
	if !errors.Is(err, llm.ErrUnavailable) || !llm.Retryable(err) {
		t.Fatalf("err = %v", err)
	}
	if got := clock.Sleeps(); len(got) != 2 || got[0] != 250*time.Millisecond || got[1] != 500*time.Millisecond {
		t.Fatalf("sleeps %v", got)
	}
}

func TestCancellation(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind)+"/mid-stream", func(t *testing.T) {
			f := newFixture(t, kind, llmtest.Options{}, nil)
			f.srv.Push(llmtest.Turn{Text: "a b c d e f", StallAfter: 4})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var c collector
			_, err := f.p.Chat(ctx, userReq("m", "hi"), func(d llm.Delta) {
				c.on(d)
				cancel() // the user pressed Ctrl-C after the first token
			})
			if !errors.Is(err, context.Canceled) || llm.Retryable(err) {
				t.Fatalf("err = %v", err)
			}
			if c.text() == "" {
				t.Fatal("no delta before cancel")
			}
		})
		t.Run(string(kind)+"/before answer", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := newFixture(t, kind, llmtest.Options{OnRequest: func(llmtest.Request) { cancel() }}, nil)
			f.srv.Push(llmtest.Turn{Hang: true})
			_, err := f.p.Chat(ctx, userReq("m", "hi"), nil)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestAttemptTimeout(t *testing.T) {
	f := newFixture(t, llm.KindOpenAI, llmtest.Options{}, func(c *llm.Config) {
		c.Timeout = 20 * time.Millisecond
		c.MaxRetries = -1
	})
	f.srv.Push(llmtest.Turn{Hang: true})
	_, err := f.p.Chat(context.Background(), userReq("m", "hi"), nil)
	if !errors.Is(err, llm.ErrUnavailable) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v", err)
	}
}

func TestMissingKeyHint(t *testing.T) {
	f := newFixture(t, llm.KindOpenAI, llmtest.Options{APIKey: "needed"}, func(c *llm.Config) {
		c.APIKeyEnv = "OPENAI_API_KEY"
		c.Getenv = env{}.get
	})
	_, err := f.p.Chat(context.Background(), userReq("m", "hi"), nil)
	if !errors.Is(err, llm.ErrAuth) || !strings.Contains(err.Error(), "OPENAI_API_KEY is not set") {
		t.Fatalf("err = %v", err)
	}
}

func TestStreamIdleTimeout(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			f := newFixture(t, kind, llmtest.Options{}, func(c *llm.Config) {
				c.IdleTimeout = 30 * time.Millisecond
				c.MaxRetries = -1
			})
			// Three events then silence with the connection held open.
			f.srv.Push(llmtest.Turn{Text: "a b c d", StallAfter: 3})
			var c collector
			_, err := f.p.Chat(context.Background(), userReq("m", "hi"), c.on)
			if !errors.Is(err, llm.ErrUnavailable) || !strings.Contains(err.Error(), "no stream data for 30ms") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
