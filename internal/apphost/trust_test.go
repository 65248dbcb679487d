package apphost

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/apppkg"
	"github.com/weftos/weftos/internal/governance"
)

// TestDistrustPrefix: a key is removed by a unique prefix of 8 or more
// hex digits or its name, a shorter or ambiguous one is refused, a name is
// taken once, and the file keeps every other line as it was.
func TestDistrustPrefix(t *testing.T) {
	f := newFixture(t, "dev")
	d := f.h
	ctx := context.Background()
	a, b := "abcdef01"+strings.Repeat("a", 56), "abcdef01"+strings.Repeat("b", 56)
	if _, err := d.Trust(ctx, apitype.PublisherTrustRequest{Key: a, Name: "first"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Trust(ctx, apitype.PublisherTrustRequest{Key: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Trust(ctx, apitype.PublisherTrustRequest{Key: strings.Repeat("3", 64), Name: "FIRST"}); !errors.Is(err, apitype.ErrPublisherTrusted) {
		t.Fatalf("a name taken: %v", err)
	}
	// A private key given by mistake is refused, and not recorded.
	_, priv, _ := ed25519.GenerateKey(nil)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if _, err := d.Trust(ctx, apitype.PublisherTrustRequest{Key: privPEM}); !errors.Is(err, apppkg.ErrKey) || strings.Contains(err.Error(), privPEM[30:60]) {
		t.Fatalf("a private key: %v", err)
	}
	for _, rec := range f.ledger.records {
		if strings.Contains(rec, strings.ReplaceAll(privPEM[28:70], "\n", "")) {
			t.Fatalf("the private key is on the chain: %s", rec)
		}
	}
	if n := f.ledger.count(governance.KindRefusal, "app.trust"); n != 2 {
		t.Fatalf("app.trust refusals recorded: %d", n)
	}
	file := filepath.Join(f.home, Dir, apppkg.TrustFile)
	data, _ := os.ReadFile(file)
	if err := os.WriteFile(file, append(data, "# a note\nnonsense\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Distrust(ctx, "abcdef0"); !errors.Is(err, apitype.ErrUnknownPublisher) {
		t.Fatalf("7 digits: %v", err)
	}
	if _, err := d.Distrust(ctx, "ABCDEF01"); err == nil || !strings.Contains(err.Error(), "matches 2 keys") {
		t.Fatalf("ambiguous: %v", err)
	}
	if k, err := d.Distrust(ctx, "ABCDEF01B"); err != nil || k.Key != b {
		t.Fatalf("by prefix: %+v %v", k, err)
	}
	got, _ := os.ReadFile(file)
	if !strings.Contains(string(got), "# a note\nnonsense\n") || strings.Contains(string(got), b) || !strings.Contains(string(got), a+" name=first seq=") {
		t.Fatalf("file after distrust:\n%s", got)
	}
	if keys := d.TrustedKeys(); len(keys) != 1 || keys[0] != a {
		t.Fatalf("trusted %v", keys)
	}
	if k, err := d.Distrust(ctx, "first"); err != nil || k.Key != a {
		t.Fatalf("by name: %+v %v", k, err)
	}
	if keys := d.TrustedKeys(); len(keys) != 0 {
		t.Fatalf("trusted %v", keys)
	}
	list, err := d.Publishers()
	if err != nil || len(list.Keys) != 1 || list.Keys[0].Invalid == "" {
		t.Fatalf("publishers after: %+v %v", list, err)
	}
}
