package gateway

import (
	"crypto/hmac"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	secret := []byte("s3cret")
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"text":"build failed"}`)
	ts := now.Unix()
	good := Sign(secret, ts, body)
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	cases := []struct {
		name    string
		ts, sig string
		body    []byte
		want    error
	}{
		{"good", itoa(ts), good, body, nil},
		{"rotation", itoa(ts), "v1=" + strings.Repeat("00", 32) + "," + good, body, nil},
		{"other versions ignored", itoa(ts), "v0=zz," + good, body, nil},
		{"tampered body", itoa(ts), good, []byte(`{"text":"build passed"}`), ErrBadSignature},
		{"wrong secret", itoa(ts), Sign([]byte("other"), ts, body), body, ErrBadSignature},
		{"stale", itoa(ts - 301), Sign(secret, ts-301, body), body, ErrStale},
		{"future", itoa(ts + 301), Sign(secret, ts+301, body), body, ErrStale},
		{"timestamp not signed as sent", itoa(ts - 1), good, body, ErrBadSignature},
		{"no timestamp", "", good, body, ErrBadSignature},
		{"no signature", itoa(ts), "", body, ErrBadSignature},
		{"short mac", itoa(ts), "v1=abcd", body, ErrBadSignature},
		{"not hex", itoa(ts), "v1=" + strings.Repeat("zz", 32), body, ErrBadSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Verify(secret, c.ts, c.sig, c.body, now, 5*time.Minute)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

func FuzzParseSignature(f *testing.F) {
	f.Add("v1=" + strings.Repeat("ab", 32))
	f.Add("v1=,v2=x")
	f.Add(",,,")
	f.Fuzz(func(t *testing.T, s string) {
		sigs, err := ParseSignature(s)
		if err == nil && (len(sigs) == 0 || len(sigs) > 5) {
			t.Fatalf("%d signatures without an error", len(sigs))
		}
		for _, sg := range sigs {
			if len(sg) != 32 {
				t.Fatalf("a %d-byte signature", len(sg))
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add("1800000000", "v1="+strings.Repeat("ab", 32), []byte("x"))
	f.Add("1800000000", Sign([]byte("k"), 1_800_000_000, []byte("x")), []byte("x"))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		now := time.Unix(1_800_000_000, 0)
		if _, err := Verify([]byte("k"), ts, sig, body, now, time.Minute); err != nil {
			return
		}
		// Only a real signature of this body and timestamp verifies.
		n, _ := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
		sigs, _ := ParseSignature(sig)
		if !slices.ContainsFunc(sigs, func(s []byte) bool { return hmac.Equal(s, mac([]byte("k"), n, body)) }) {
			t.Fatalf("forged signature verified: %q %q", ts, sig)
		}
	})
}

func TestParseClientFrame(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{`{"type":"message","text":"hi"}`, true},
		{`{"type":"message","id":"1","text":"hi"}`, true},
		{`{"type":"message","text":"  "}`, false},
		{`{"type":"admin","text":"hi"}`, false},
		{`{"type":"message","text":"hi","scope":"admin"}`, false},
		{`{"type":"message","text":"hi"} {}`, false},
		{`[]`, false},
		{`{"type":"message","text":"hi","id":"` + strings.Repeat("x", 129) + `"}`, false},
	}
	for _, c := range cases {
		if _, err := ParseClientFrame([]byte(c.in)); (err == nil) != c.ok {
			t.Errorf("%s: %v", c.in, err)
		}
	}
}

func FuzzParseClientFrame(f *testing.F) {
	f.Add([]byte(`{"type":"message","text":"hi"}`))
	f.Add([]byte(`{"type":"message","text":"hi","id":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseClientFrame(b)
		if err == nil && (fr.Type != "message" || strings.TrimSpace(fr.Text) == "" || len(fr.ID) > 128) {
			t.Fatalf("accepted %+v", fr)
		}
	})
}

func TestContentText(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{`"hi"`, "hi", true},
		{`null`, "", true},
		{``, "", true},
		{`[{"type":"text","text":"a"},{"type":"text","text":"b"}]`, "a\nb", true},
		{`[{"type":"image_url","image_url":{"url":"x"}}]`, "", false},
		{`42`, "", false},
		{`{"type":"text"}`, "", false},
	}
	for _, c := range cases {
		got, err := ContentText(json.RawMessage(c.in))
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("%s: %q %v", c.in, got, err)
		}
	}
}

func FuzzParseChat(f *testing.F) {
	f.Add([]byte(`{"model":"weft/a","messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"weft/a","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"x"}]}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"tool","content":"x"}],"tools":[{}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, texts, err := parseChat(b)
		if err != nil {
			var e *errRequest
			if !errors.As(err, &e) {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if req.Model == "" || len(texts) != len(req.Messages) || req.Messages[len(texts)-1].Role != "user" {
			t.Fatalf("accepted a bad request %+v", req)
		}
		_ = Transcript(req.Messages, texts)
	})
}

func TestParseTokenID(t *testing.T) {
	id := NewTokenID()
	good := tokenPrefix + id + "_" + strings.Repeat("A", 43)
	for s, ok := range map[string]bool{good: true, "sk-x": false, tokenPrefix + "ABCDEF0123_" + strings.Repeat("A", 43): false,
		tokenPrefix + id + "_" + strings.Repeat("A", 42): false, tokenPrefix + id: false, tokenPrefix + id + "_" + strings.Repeat("*", 43): false} {
		if got, gotOK := ParseTokenID(s); gotOK != ok || ok && got != id {
			t.Errorf("ParseTokenID(%q) = %q %v", s, got, gotOK)
		}
	}
}

func FuzzParseTokenID(f *testing.F) {
	f.Add(tokenPrefix + "0123456789_" + strings.Repeat("A", 43))
	f.Fuzz(func(t *testing.T, s string) {
		if id, ok := ParseTokenID(s); ok && (len(id) != 10 || !strings.HasPrefix(s, tokenPrefix+id+"_")) {
			t.Fatalf("%q parsed to %q", s, id)
		}
	})
}

func TestTaskAnswer(t *testing.T) {
	cases := []struct{ in, want string }{
		{"### Task:\nGenerate 1-3 broad tags categorizing the main themes", `{"tags":["General"]}`},
		{"### Task:\nSuggest 3-5 relevant follow-up questions", `{"follow_ups":[]}`},
		{"### Task:\nAnalyze the chat history to determine the necessity of generating search queries", `{"queries":[]}`},
		{"### Task:\nGenerate a concise title\n<chat_history>\nUSER:   \nUSER: Plan a trip to Oslo in May please.\n</chat_history>", `{"title":"Plan a trip to Oslo"}`},
	}
	for _, c := range cases {
		if got, ok := taskAnswer(c.in); !ok || got != c.want {
			t.Errorf("%q: %q %v", c.in, got, ok)
		}
	}
	for _, s := range []string{"hello", "Task: title", "### Task:\nDo something unusual"} {
		if _, ok := taskAnswer(s); ok {
			t.Errorf("%q taken for a task", s)
		}
	}
}

func TestKeepAliveStopTwice(t *testing.T) {
	sw := newSSE(httptest.NewRecorder())
	stop := keepAlive(sw, time.Hour)
	stop()
	stop()
}
