package llm_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

func writeKeyFile(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKeyFile(t *testing.T) {
	srv := llmtest.NewAnthropic(llmtest.Options{APIKey: testKey})
	defer srv.Close()
	cases := []struct {
		name    string
		content string
		mode    os.FileMode
		wantErr string
	}{
		{"0600 ok", testKey + "\n", 0o600, ""},
		{"0400 ok", "  " + testKey + "  ", 0o400, ""},
		{"0644 refused", testKey, 0o644, "mode 0644 lets group or others read it; run: chmod 600"},
		{"0640 refused", testKey, 0o640, "mode 0640"},
		{"empty", "\n", 0o600, "empty"},
		{"two lines", testKey + "\nsecond\n", 0o600, "single line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeKeyFile(t, tc.content, tc.mode)
			p, err := llm.NewAnthropic(llm.Config{BaseURL: srv.URL, APIKeyFile: path, HTTPClient: srv.Client()})
			if tc.wantErr != "" {
				if !errors.Is(err, llm.ErrKeyFile) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrKeyFile containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), testKey) {
					t.Fatalf("error leaks key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			srv.Push(llmtest.Text("ok"))
			if _, err := p.Chat(context.Background(), userReq("m", "hi"), nil); err != nil {
				t.Fatalf("chat with key from file: %v", err)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := llm.NewOpenAI(llm.Config{APIKeyFile: filepath.Join(t.TempDir(), "nope")})
		if !errors.Is(err, llm.ErrKeyFile) || !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := llm.NewOpenAI(llm.Config{APIKeyFile: dir})
		if !errors.Is(err, llm.ErrKeyFile) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("env wins over file", func(t *testing.T) {
		path := writeKeyFile(t, "file-key-not-used", 0o600)
		p, err := llm.NewAnthropic(llm.Config{BaseURL: srv.URL, APIKeyEnv: "K", APIKeyFile: path,
			Getenv: env{"K": testKey}.get, HTTPClient: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		srv.Push(llmtest.Text("ok"))
		if _, err := p.Chat(context.Background(), userReq("m", "hi"), nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  llm.Config
	}{
		{"unknown kind", llm.Config{Kind: "gemini"}},
		{"relative url", llm.Config{Kind: llm.KindOpenAI, BaseURL: "localhost:11434/v1"}},
		{"ftp url", llm.Config{Kind: llm.KindOpenAI, BaseURL: "ftp://x/v1"}},
		{"slash in name", llm.Config{Kind: llm.KindOpenAI, Name: "a/b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := llm.New(tc.cfg); !errors.Is(err, llm.ErrBadRequest) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	if _, err := llm.NewOpenAI(llm.Config{Kind: llm.KindAnthropic}); !errors.Is(err, llm.ErrBadRequest) {
		t.Errorf("NewOpenAI accepted kind anthropic: %v", err)
	}
	if _, err := llm.NewAnthropic(llm.Config{Kind: llm.KindOpenAI}); !errors.Is(err, llm.ErrBadRequest) {
		t.Errorf("NewAnthropic accepted kind openai: %v", err)
	}
}

// TestKeyNeverLeaks drives every error path that could carry the key and
// asserts that neither errors (in any format verb) nor debug logs contain
// it. The fake server's 401 echoes the presented key verbatim.
func TestKeyNeverLeaks(t *testing.T) {
	const secret = "sk-live-SECRET-abcdefghijklmnop"
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			var srv *llmtest.Server
			if kind == llm.KindAnthropic {
				srv = llmtest.NewAnthropic(llmtest.Options{APIKey: "the-right-key"})
			} else {
				srv = llmtest.NewOpenAI(llmtest.Options{APIKey: "the-right-key"})
			}
			defer srv.Close()
			logs := &syncBuffer{}
			cfg := llm.Config{Kind: kind, BaseURL: srv.URL, APIKeyEnv: "K", Getenv: env{"K": secret}.get,
				HTTPClient: srv.Client(), Clock: newFakeClock(),
				Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			p, err := llm.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var errs []error
			_, err = p.Chat(context.Background(), userReq("m", "hi"), nil)
			if !errors.Is(err, llm.ErrAuth) {
				t.Fatalf("want ErrAuth, got %v", err)
			}
			errs = append(errs, err)
			_, err = p.Chat(context.Background(), userReq("m", "hi"), func(llm.Delta) {})
			errs = append(errs, err)
			_, err = p.Models(context.Background())
			errs = append(errs, err)
			// An unreachable server: transport errors.
			dead := cfg
			dead.BaseURL = "http://127.0.0.1:1/v1"
			dead.MaxRetries = -1
			dead.HTTPClient = &http.Client{Transport: &http.Transport{}}
			dp, err := llm.New(dead)
			if err != nil {
				t.Fatal(err)
			}
			_, err = dp.Chat(context.Background(), userReq("m", "hi"), nil)
			errs = append(errs, err)
			for i, e := range errs {
				if e == nil {
					t.Fatalf("error %d is nil", i)
				}
				for _, s := range []string{e.Error(), fmt.Sprintf("%v|%+v|%#v|%s|%q", e, e, e, e, e)} {
					if strings.Contains(s, secret) {
						t.Fatalf("error %d leaks the key: %s", i, s)
					}
				}
			}
			if !strings.Contains(errs[0].Error(), "Incorrect API key provided: [REDACTED]") {
				t.Errorf("vendor message not kept with redaction: %v", errs[0])
			}
			if l := logs.String(); strings.Contains(l, secret) || !strings.Contains(l, "llm request failed") {
				t.Fatalf("logs leak the key or are missing:\n%s", l)
			}
			// The key reached the server only in the auth header.
			for _, r := range srv.Requests() {
				if strings.Contains(string(r.Body), secret) || strings.Contains(r.Path+r.Query, secret) {
					t.Fatal("key sent outside the auth header")
				}
			}
		})
	}
}
