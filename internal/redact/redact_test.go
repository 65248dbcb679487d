package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"nothing secret here: tokens=42 input_tokens=7", "nothing secret here: tokens=42 input_tokens=7"},
		{"key sk-abcdefghijklmnopqrstuvwx leaked", "key sk-" + Mask + " leaked"},
		{"anthropic sk-ant-api03-abcdefghijklmnop_QRS", "anthropic sk-ant-" + Mask},
		{"Authorization: Bearer abc.def.ghi-jkl", "Authorization: Bearer " + Mask},
		{"header bearer abcdefgh12345", "header bearer " + Mask},
		{"dial http://user:hunter2@example.com/v1", "dial http://" + Mask + "@example.com/v1"},
		{`level=INFO msg=x api_key=abc123xyz other=1`, `level=INFO msg=x api_key=` + Mask + ` other=1`},
		{`{"msg":"x","client_secret":"s3cr3t","n":1}`, `{"msg":"x","client_secret":"` + Mask + `","n":1}`},
		{`password: "correct horse"`, `password: "` + Mask + `"`},
		{`max_token=4096`, `max_token=4096`},
		{"export OPENAI_API_KEY=… or token=$TOKEN or api_key=<key>", "export OPENAI_API_KEY=… or token=$TOKEN or api_key=<key>"},
		{"ghp_0123456789abcdefghijABCDEFGHIJ", "ghp_" + Mask},
		{"AKIAABCDEFGHIJKLMNOP", "AKIA" + Mask},
		{"already " + Mask + " token=" + Mask, "already " + Mask + " token=" + Mask},
	}
	for _, c := range cases {
		if got := String(c.in); got != c.want {
			t.Errorf("String(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestIsSecretKey(t *testing.T) {
	for k, want := range map[string]bool{
		"api_key": true, "X-Api-Key": true, "OPENAI_API_KEY": true, "access_token": true, "password": true,
		"Authorization": true, "tokens": false, "input_tokens": false, "model": false, "key": false, "path": false,
	} {
		if got := IsSecretKey(k); got != want {
			t.Errorf("IsSecretKey(%q) = %v", k, got)
		}
	}
}

func TestAttr(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: Attr}))
	log.Info("call", "api_key", "plain-secret", "tokens", 12, "err", errors.New("401: invalid key sk-abcdefghijklmnopqrstuv"),
		"url", "https://u:p@host/x", "token", 5)
	out := b.String()
	for _, leak := range []string{"plain-secret", "abcdefghijklmnopqrstuv", "u:p@"} {
		if strings.Contains(out, leak) {
			t.Fatalf("log leaks %q: %s", leak, out)
		}
	}
	if !strings.Contains(out, "tokens=12") || !strings.Contains(out, "token=5") {
		t.Fatalf("counts masked: %s", out)
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"api_key=abc", `{"token":"x\"y"}`, "Bearer abcdefghij", "https://a:b@c", "sk-0123456789abcdefghij"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := String(s)
		if again := String(r); again != r {
			t.Fatalf("not idempotent: %q → %q → %q", s, r, again)
		}
		if strings.Contains(s, "sk-0123456789abcdefghij") && strings.Contains(r, "0123456789abcdefghij") {
			t.Fatalf("key survived: %q → %q", s, r)
		}
	})
}
