// Package redact masks secrets in text before it is stored or shown: API
// keys and tokens of well-known shapes, bearer credentials, passwords in
// URLs, and the values of fields whose name says they are secret
// (api_key=…, "token": "…", Authorization: …). It is the last line of
// defence of the daemon's log and of what `weave logs` and `weave doctor`
// print — code should not log secrets in the first place.
package redact

import (
	"log/slog"
	"regexp"
	"strings"
)

// Mask replaces a secret.
const Mask = "[REDACTED]"

// secretSuffixes end the (normalised) names of secret fields. "tokens"
// (a count) does not end in "token".
var secretSuffixes = []string{"apikey", "token", "secret", "password", "passwd", "passphrase", "authorization",
	"privatekey", "credential", "credentials", "cookie"}

// IsSecretKey reports whether a field or attribute name names a secret:
// api_key, X-Api-Key, access_token, client_secret, password, … (case and
// separators ignored).
func IsSecretKey(key string) bool {
	var b strings.Builder
	for _, r := range strings.ToLower(key) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	n := b.String()
	for _, s := range secretSuffixes {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return false
}

var (
	// scheme://user:password@host
	urlCreds = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@"']+@`)
	// Authorization: Bearer …, Basic …
	bearer = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{8,}`)
	// Keys of well-known shapes: OpenAI and Anthropic (sk-…), GitHub,
	// Slack, AWS access key ids, Google API keys.
	shaped = regexp.MustCompile(`\b(sk-(?:ant-|proj-|or-)?)[A-Za-z0-9_-]{16,}|\b(gh[pousr]_)[A-Za-z0-9]{20,}|\b(xox[abprs]-)[A-Za-z0-9-]{10,}|\b(AKIA)[0-9A-Z]{16}\b|\b(AIza)[0-9A-Za-z_-]{35}`)
	// name=value, name: value, "name": "value" — the name is checked
	// with IsSecretKey.
	field = regexp.MustCompile(`("?)([A-Za-z0-9_.-]+)("?)(\s*[=:]\s*)(\[REDACTED\]|"(?:[^"\\]|\\.)*"|[^\s,;&"}\]]+)`)
)

// String returns s with every secret it recognises replaced by Mask.
func String(s string) string {
	if s == "" {
		return s
	}
	s = urlCreds.ReplaceAllString(s, "${1}"+Mask+"@")
	s = bearer.ReplaceAllString(s, "${1}${2}"+Mask)
	s = shaped.ReplaceAllStringFunc(s, func(m string) string {
		for _, p := range []string{"sk-ant-", "sk-proj-", "sk-or-", "sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-", "AKIA", "AIza"} {
			if strings.HasPrefix(m, p) {
				return p + Mask
			}
		}
		return Mask
	})
	return field.ReplaceAllStringFunc(s, func(m string) string {
		g := field.FindStringSubmatch(m)
		name, value := g[2], g[5]
		if !IsSecretKey(name) || value == Mask || value == `"`+Mask+`"` || numeric(value) || placeholder(value) ||
			strings.EqualFold(value, "bearer") || strings.EqualFold(value, "basic") { // the credential after it is masked above
			return m
		}
		if strings.HasPrefix(value, `"`) {
			value = `"` + Mask + `"`
		} else {
			value = Mask
		}
		return g[1] + name + g[3] + g[4] + value
	})
}

// placeholder values in hints ("OPENAI_API_KEY=…", "token=$TOKEN",
// "api_key=<key>") are not secrets.
func placeholder(v string) bool {
	v = strings.Trim(v, `"`)
	return v == "…" || v == "..." || strings.HasPrefix(v, "$") || strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">")
}

// numeric values (counts, limits) are not secrets.
func numeric(v string) bool {
	v = strings.Trim(v, `"`)
	if v == "" {
		return false
	}
	for _, r := range v {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Attr is a slog.HandlerOptions.ReplaceAttr: it masks attributes whose key
// names a secret and secrets inside string values and errors.
func Attr(_ []string, a slog.Attr) slog.Attr {
	if IsSecretKey(a.Key) && a.Value.Kind() != slog.KindGroup {
		if k := a.Value.Kind(); k == slog.KindInt64 || k == slog.KindUint64 {
			return a
		}
		return slog.String(a.Key, Mask)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); s != "" {
			if r := String(s); r != s {
				return slog.String(a.Key, r)
			}
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok && err != nil {
			if s := err.Error(); String(s) != s {
				return slog.String(a.Key, String(s))
			}
		}
	}
	return a
}
