package channels

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/config"
)

func TestPairing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw", "pairing.json")
	p, err := OpenPairing(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	if p.Allowed("tg", "1") {
		t.Fatal("empty allowlist allows")
	}
	a, fresh, err := p.Request("tg", "1", "Ann\nEvil", now)
	if err != nil || !fresh || !ValidCode(a.Code) || a.Name != "Ann Evil" {
		t.Fatalf("request %+v %v %v", a, fresh, err)
	}
	again, fresh, err := p.Request("tg", "1", "Ann", now.Add(time.Minute))
	if err != nil || fresh || again.Code != a.Code {
		t.Fatalf("second request %+v %v %v", again, fresh, err)
	}
	for i := range 2 {
		if _, _, err := p.Request("tg", string(rune('2'+i)), "", now); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := p.Request("tg", "9", "", now); !errors.Is(err, ErrTooManyPending) {
		t.Fatalf("fourth pending: %v", err)
	}
	if _, _, err := p.Request("dc", "9", "", now); err != nil {
		t.Fatalf("another channel is counted apart: %v", err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v %v", st, err)
	}
	if _, err := p.Resolve(a.Code, true, now); err != nil {
		t.Fatal(err)
	}
	if !p.Allowed("tg", "1") || p.Allowed("dc", "1") || p.Allowed("tg", "2") {
		t.Fatal("approval grants the wrong things")
	}
	if _, err := p.Resolve(a.Code, true, now); !errors.Is(err, ErrUnknownCode) {
		t.Fatalf("resolved twice: %v", err)
	}
	// Codes expire after an hour.
	pend, _ := p.List(now.Add(CodeTTL))
	if len(pend) != 0 {
		t.Fatalf("pending after expiry: %+v", pend)
	}
	if _, err := p.Lookup("ABCDEFGH", now); !errors.Is(err, ErrUnknownCode) {
		t.Fatal(err)
	}
	// The allowlist survives a reopen.
	p2, err := OpenPairing(path)
	if err != nil || !p2.Allowed("tg", "1") {
		t.Fatalf("reopen: %v", err)
	}
}

func TestValidCode(t *testing.T) {
	for s, want := range map[string]bool{"ABCDEFGH": true, "ABCDEFG": false, "ABCDEFG0": false, "abcdefgh": false, "23456789": true} {
		if ValidCode(s) != want {
			t.Errorf("ValidCode(%q) != %v", s, want)
		}
	}
}

func TestRouter(t *testing.T) {
	r := NewRouter([]config.Route{
		{Channel: "*", Agent: "global"},
		{Channel: "tg", Group: "g1", Agent: "group-agent"},
		{Channel: "*", Peer: "p1", Agent: "any-peer"},
		{Channel: "tg", Peer: "p1", Agent: "tg-peer"},
		{Channel: "dc", Agent: "dc-agent"},
	}, []config.Channel{{Name: "sl", Agent: "sl-default"}, {Name: "tg"}})
	cases := []struct{ channel, peer, group, want string }{
		{"tg", "p1", "g1", "tg-peer"},
		{"dc", "p1", "", "any-peer"},
		{"tg", "p2", "g1", "group-agent"},
		{"dc", "p2", "", "dc-agent"},
		{"tg", "p2", "", "global"},
		{"sl", "p2", "", "global"},
	}
	for _, c := range cases {
		if got := r.Agent(c.channel, c.peer, c.group); got != c.want {
			t.Errorf("Agent(%s,%s,%s) = %s, want %s", c.channel, c.peer, c.group, got, c.want)
		}
	}
	if got := NewRouter(nil, []config.Channel{{Name: "sl", Agent: "x"}}).Agent("sl", "p", ""); got != "x" {
		t.Errorf("channel default: %s", got)
	}
	if got := NewRouter(nil, nil).Agent("sl", "p", ""); got != DefaultAgent {
		t.Errorf("default: %s", got)
	}
}
