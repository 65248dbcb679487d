package apppkg

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Types of a configuration setting.
const (
	TypeString = "string"
	TypeInt    = "int"
	TypeBool   = "bool"
	TypeFloat  = "float"
)

// Limits of configuration.
const (
	MaxConfigKeys  = 256
	MaxConfigValue = 4096 // bytes of a value's text
)

// ErrConfig: a configuration value or reference is invalid (an unknown
// key, a value that is not of the key's type, a malformed ${config.KEY}).
var ErrConfig = errors.New("invalid app configuration")

// ConfigVar is one setting an app declares in [config]: its type, its
// default (canonical text; nil when it has none, so the operator must set
// it before the app starts), whether it is secret (never shown, recorded
// only as a hash; its default can only be "", as a default travels in the
// package in clear) and what it is for.
//
// In weftapp.toml a setting is either a bare default, whose TOML type is
// the setting's type:
//
//	digest_length = 200
//
// or a table:
//
//	api_token = { type = "string", secret = true, description = "…" }
type ConfigVar struct {
	Type        string  `json:"type"`
	Default     *string `json:"default,omitempty"`
	Secret      bool    `json:"secret,omitempty"`
	Description string  `json:"description,omitempty"`
}

// parseConfig turns the decoded [config] table into settings.
func parseConfig(raw map[string]any) (map[string]ConfigVar, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var errs []error
	if len(raw) > MaxConfigKeys {
		errs = append(errs, fmt.Errorf("config: more than %d keys", MaxConfigKeys))
	}
	out := make(map[string]ConfigVar, len(raw))
	for _, k := range sortedKeys(raw) {
		if !keyRE.MatchString(k) {
			errs = append(errs, fmt.Errorf("config: key %q: want 1-64 of a-z 0-9 _ . -, starting with a letter or _", k))
			continue
		}
		v, err := parseConfigVar(raw[k])
		if err != nil {
			errs = append(errs, fmt.Errorf("config.%s: %w", k, err))
			continue
		}
		out[k] = v
	}
	return out, errors.Join(errs...)
}

func parseConfigVar(raw any) (ConfigVar, error) {
	table, ok := raw.(map[string]any)
	if !ok {
		typ, text, err := scalar(raw)
		if err != nil {
			return ConfigVar{}, err
		}
		return ConfigVar{Type: typ, Default: &text}, nil
	}
	var v ConfigVar
	for _, k := range sortedKeys(table) {
		switch k {
		case "type", "description":
			s, ok := table[k].(string)
			if !ok {
				return ConfigVar{}, fmt.Errorf("%s: want a string", k)
			}
			if k == "type" {
				v.Type = s
			} else {
				v.Description = s
			}
		case "secret":
			b, ok := table[k].(bool)
			if !ok {
				return ConfigVar{}, errors.New("secret: want true or false")
			}
			v.Secret = b
		case "default":
		default:
			return ConfigVar{}, fmt.Errorf("unknown key %q (want type, default, secret, description)", k)
		}
	}
	if len(v.Description) > 1024 {
		return ConfigVar{}, errors.New("description: longer than 1024 bytes")
	}
	switch v.Type {
	case "", TypeString, TypeInt, TypeBool, TypeFloat:
	default:
		return ConfigVar{}, fmt.Errorf("type %q: want string, int, bool or float", v.Type)
	}
	def, has := table["default"]
	switch {
	case has && v.Secret && def != "":
		return ConfigVar{}, errors.New(`a secret's default can only be "" (it would travel in the package in clear)`)
	case !has && v.Type == "":
		return ConfigVar{}, errors.New("want a type or a default")
	case !has:
		return v, nil
	}
	typ, text, err := scalar(def)
	if err != nil {
		return ConfigVar{}, fmt.Errorf("default: %w", err)
	}
	switch {
	case v.Type == "":
		v.Type = typ
	case v.Type == TypeFloat && typ == TypeInt:
		// 1 for a float is 1.
	case v.Type != typ:
		return ConfigVar{}, fmt.Errorf("default: a %s, but the type is %s", typ, v.Type)
	}
	if text, err = ParseValue(v.Type, text); err != nil {
		return ConfigVar{}, fmt.Errorf("default: %w", err)
	}
	v.Default = &text
	return v, nil
}

// scalar is a TOML value's type and canonical text.
func scalar(raw any) (typ, text string, err error) {
	switch x := raw.(type) {
	case string:
		if err := checkText(x); err != nil {
			return "", "", err
		}
		return TypeString, x, nil
	case int64:
		return TypeInt, strconv.FormatInt(x, 10), nil
	case bool:
		return TypeBool, strconv.FormatBool(x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", "", errors.New("want a finite number")
		}
		return TypeFloat, strconv.FormatFloat(x, 'g', -1, 64), nil
	}
	return "", "", fmt.Errorf("a %T: want a string, integer, boolean or float (or a table with type and default)", raw)
}

func checkText(s string) error {
	switch {
	case len(s) > MaxConfigValue:
		return fmt.Errorf("longer than %d bytes", MaxConfigValue)
	case !utf8.ValidString(s):
		return errors.New("not valid UTF-8")
	case strings.ContainsRune(s, 0):
		return errors.New("holds a NUL byte")
	}
	return nil
}

// ParseValue checks text as a value of type typ and returns its canonical
// text (an int in decimal, a bool as true or false, a float in its
// shortest form). Its errors never quote text, which may be a secret.
func ParseValue(typ, text string) (string, error) {
	if err := checkText(text); err != nil {
		return "", fmt.Errorf("%w: the value is %v", ErrConfig, err)
	}
	switch typ {
	case TypeString:
		return text, nil
	case TypeInt:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return "", fmt.Errorf("%w: want an int (a decimal integer)", ErrConfig)
		}
		return strconv.FormatInt(n, 10), nil
	case TypeBool:
		switch strings.ToLower(strings.TrimSpace(text)) {
		case "true", "yes", "on", "1":
			return "true", nil
		case "false", "no", "off", "0":
			return "false", nil
		}
		return "", fmt.Errorf("%w: want a bool (true or false)", ErrConfig)
	case TypeFloat:
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "", fmt.Errorf("%w: want a float (a finite decimal number)", ErrConfig)
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	}
	return "", fmt.Errorf("%w: unknown type %q", ErrConfig, typ)
}

// ConfigDefaults returns the settings that have a default, with it.
func (m *Manifest) ConfigDefaults() map[string]string {
	var out map[string]string
	for k, v := range m.Config {
		if v.Default != nil {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = *v.Default
		}
	}
	return out
}

// References are ${config.KEY} in text. "$${config." stands for a literal
// "${config." and is not a reference.
const refOpen = "${config."

// References lists the keys text refers to with ${config.KEY}, sorted and
// without repeats; a malformed reference (no closing brace, a bad key) is
// an error.
func References(text string) ([]string, error) {
	var keys []string
	_, err := expand(text, func(k string) (string, error) {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
		return "", nil
	})
	slices.Sort(keys)
	return keys, err
}

// Expand replaces each ${config.KEY} in text with value(KEY), and each
// "$${config." with "${config.".
func Expand(text string, value func(key string) (string, error)) (string, error) {
	return expand(text, value)
}

func expand(text string, value func(key string) (string, error)) (string, error) {
	if !strings.Contains(text, refOpen) {
		return text, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(text, refOpen)
		if i < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		if i > 0 && text[i-1] == '$' {
			b.WriteString(text[:i-1])
			b.WriteString(refOpen)
			text = text[i+len(refOpen):]
			continue
		}
		b.WriteString(text[:i])
		rest := text[i+len(refOpen):]
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return "", fmt.Errorf("%w: %s… has no closing }", ErrConfig, refOpen)
		}
		key := rest[:end]
		if !keyRE.MatchString(key) {
			return "", fmt.Errorf("%w: ${config.%.64s}: not a config key", ErrConfig, key)
		}
		v, err := value(key)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
		text = rest[end+1:]
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// CheckReferences checks that every ${config.KEY} in text names a setting
// the manifest declares, and — unless secrets is set — not a secret one:
// a secret reaches only what stays in memory (an agent's system prompt),
// never text the node stores or records (a cron job's message).
func (m *Manifest) CheckReferences(text string, secrets bool) error {
	keys, err := References(text)
	if err != nil {
		return err
	}
	for _, k := range keys {
		v, ok := m.Config[k]
		switch {
		case !ok:
			return fmt.Errorf("%w: ${config.%s}: the app declares no such setting in [config]", ErrConfig, k)
		case v.Secret && !secrets:
			return fmt.Errorf("%w: ${config.%s}: a secret is delivered only to agents' system prompts", ErrConfig, k)
		}
	}
	return nil
}
