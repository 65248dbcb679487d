package apppkg

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func sshLine(key []byte) string {
	var blob []byte
	for _, s := range [][]byte{[]byte("ssh-ed25519"), key} {
		blob = binary.BigEndian.AppendUint32(blob, uint32(len(s)))
		blob = append(blob, s...)
	}
	return "ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob) + " publisher@example"
}

func ecdsaDER(t *testing.T) []byte {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParsePublicKey(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	want := hex.EncodeToString(pub)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	privDER, _ := x509.MarshalPKCS8PrivateKey(priv)
	for name, in := range map[string]string{
		"hex":       want + "\n",
		"upper hex": strings.ToUpper(want),
		"openssh":   sshLine(pub),
		"pem":       string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
	} {
		got, err := ParsePublicKey([]byte(in))
		if err != nil || got != want {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
	for name, tc := range map[string]struct{ in, want string }{
		"short hex":   {"abcd", "2 hex bytes"},
		"private pem": {string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})), "private key"},
		"rsa ssh":     {"ssh-rsa AAAA x", "ssh-rsa"},
		"bad ssh":     {sshLine(pub[:16]), "malformed"},
		"other pem":   {string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})), "CERTIFICATE"},
		"garbage":     {"hello", "want 64 hex digits"},
		"ecdsa pem":   {string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecdsaDER(t)})), "not an Ed25519 key"},
		"long pem":    {string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: append(der[:len(der):len(der)], 0)})), "not an Ed25519 key"},
		"short pem":   {string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der[:len(der)-1]})), "not an Ed25519 key"},
	} {
		if _, err := ParsePublicKey([]byte(tc.in)); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
	}
}

func TestTrustFile(t *testing.T) {
	a := strings.Repeat("ab", 32)
	b := strings.Repeat("CD", 32)
	old := "# my keys\n" + a + "\n\n" + b + " acme   # the vendor\nnot-a-key\n"
	keys := ParseTrustFile([]byte(old))
	if len(keys) != 3 || keys[0].Key != a || keys[0].Line != 2 || keys[1].Key != strings.ToLower(b) || keys[1].Name != "acme" ||
		keys[2].Invalid == "" || keys[2].Line != 5 {
		t.Fatalf("parsed %+v", keys)
	}
	c := strings.Repeat("01", 32)
	data := AppendTrust([]byte(old), TrustedKey{Key: c, Name: "tools.example", Seq: 42, Added: "2026-12-04T08:00:00Z"})
	keys = ParseTrustFile(data)
	if len(keys) != 4 || keys[3] != (TrustedKey{Key: c, Name: "tools.example", Seq: 42, Added: "2026-12-04T08:00:00Z", Line: 6}) {
		t.Fatalf("after append %+v", keys)
	}
	data, n := RemoveTrust(data, strings.ToLower(b))
	if n != 1 || string(data) != "# my keys\n"+a+"\n\nnot-a-key\n"+TrustLine(TrustedKey{Key: c, Name: "tools.example", Seq: 42, Added: "2026-12-04T08:00:00Z"}) {
		t.Fatalf("after remove %d:\n%s", n, data)
	}
	if fresh := AppendTrust(nil, TrustedKey{Key: c}); !strings.HasPrefix(string(fresh), TrustFileHeader) || len(ParseTrustFile(fresh)) != 1 {
		t.Fatalf("new file:\n%s", fresh)
	}
}

// FuzzParseTrustFile: parsing never panics; every valid entry is a hex
// key of the right size; removing a key leaves no line trusting it and
// every other entry.
func FuzzParseTrustFile(f *testing.F) {
	f.Add([]byte(strings.Repeat("ab", 32) + " name=x seq=3 added=now # c\nbad\n"))
	f.Add([]byte("#\n\n" + strings.Repeat("AB", 32)))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys := ParseTrustFile(data)
		for _, k := range keys {
			if k.Invalid != "" {
				continue
			}
			if b, err := hex.DecodeString(k.Key); err != nil || len(b) != ed25519.PublicKeySize || k.Key != strings.ToLower(k.Key) {
				t.Fatalf("accepted key %q", k.Key)
			}
		}
		for _, k := range keys {
			if k.Invalid != "" {
				continue
			}
			out, _ := RemoveTrust(data, k.Key)
			valid := 0
			for _, r := range ParseTrustFile(out) {
				if r.Key == k.Key {
					t.Fatalf("%q still trusted after removal", k.Key)
				}
				if r.Invalid == "" {
					valid++
				}
			}
			others := 0
			for _, o := range keys {
				if o.Invalid == "" && o.Key != k.Key {
					others++
				}
			}
			if valid != others {
				t.Fatalf("removing %s left %d keys, want %d", k.Key, valid, others)
			}
			break
		}
	})
}

// FuzzParsePublicKey: a key accepted is 32 bytes of hex.
func FuzzParsePublicKey(f *testing.F) {
	pub, _, _ := ed25519.GenerateKey(nil)
	f.Add([]byte(sshLine(pub)))
	f.Add([]byte(hex.EncodeToString(pub)))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePublicKey(data)
		if err != nil {
			if !errors.Is(err, ErrKey) {
				t.Fatalf("error %v is not ErrKey", err)
			}
			return
		}
		if b, err := hex.DecodeString(k); err != nil || len(b) != ed25519.PublicKeySize {
			t.Fatalf("accepted %q", k)
		}
	})
}
