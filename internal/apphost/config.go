package apphost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/apppkg"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/durable"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernelauth"
)

// An app's settings (weftapp.toml [config]) are declared by the version
// installed and set by the operator with app.configure acts; the values
// set live in HOME/apps/NAME/config.json (mode 0600: secrets are there in
// clear, as the app's agents need them; the chain holds only their
// hashes). They reach the app's processes when those start: each
// ${config.KEY} in the system prompt of an agent definition the app
// installed, and in the messages of its cron jobs, is replaced by the
// value in effect.

// appConfigFile is HOME/apps/NAME/config.json.
type appConfigFile struct {
	Values   map[string]string `json:"values"`
	ActionID string            `json:"action_id,omitempty"`
	Seq      uint64            `json:"seq,omitempty"`
}

// errNoValue: a setting without a default was not set.
var errNoValue = errors.New("has no value")

func (h *Host) appConfigPath(name string) (string, error) {
	dir, err := h.appDir(name)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "config.json"), nil
}

// readAppConfig reads the values set for app name (none: an empty file).
func (h *Host) readAppConfig(name string) (appConfigFile, error) {
	f := appConfigFile{Values: map[string]string{}}
	p, err := h.appConfigPath(name)
	if err != nil {
		return f, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("app %s: damaged config.json: %w", name, err)
	}
	if f.Values == nil {
		f.Values = map[string]string{}
	}
	return f, nil
}

func (h *Host) writeAppConfig(name string, f appConfigFile) error {
	p, err := h.appConfigPath(name)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(f, "", "  ")
	return durable.WriteFile(p, append(b, '\n'))
}

// appManifest reads the manifest of the version of a installed.
func (h *Host) appManifest(a apitype.App) (*apppkg.Manifest, error) {
	dir, err := h.appDir(a.Name)
	if err != nil {
		return nil, err
	}
	if len(a.Digest) < 12 {
		return nil, fmt.Errorf("app %s: damaged record: digest %q", a.Name, a.Digest)
	}
	b, err := os.ReadFile(filepath.Join(dir, a.Version+"-"+a.Digest[:12], apppkg.ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("app %s %s: its installed copy: %w", a.Name, a.Version, err)
	}
	return apppkg.ParseManifest(b)
}

// SecretHash is what the chain and `weave app config` show of a secret
// value: SHA-256, separated by domain, app and key (so equal secrets of two
// settings do not look equal).
func SecretHash(app, key, value string) string {
	h := sha256.Sum256([]byte("weftos-app-config-v1\x00" + app + "\x00" + key + "\x00" + value))
	return "sha256:" + hex.EncodeToString(h[:])
}

// configValue returns a lookup of the values in effect for m's settings:
// the one set, else the default; a setting with neither is an error.
func configValue(app string, m *apppkg.Manifest, set map[string]string) func(string) (string, error) {
	return func(key string) (string, error) {
		v, ok := m.Config[key]
		if !ok {
			return "", fmt.Errorf("%w: app %s declares no setting %s", apppkg.ErrConfig, app, key)
		}
		if s, ok := set[key]; ok {
			return s, nil
		}
		if v.Default != nil {
			return *v.Default, nil
		}
		return "", fmt.Errorf("%w: app %s: setting %s %w: set it with weave app config %s %s=VALUE", apppkg.ErrConfig, app, key, errNoValue, app, key)
	}
}

// checkAppConfig checks that every setting of m has a value, before the
// app's processes start.
func checkAppConfig(app string, m *apppkg.Manifest, set map[string]string) error {
	get := configValue(app, m, set)
	var missing []string
	for _, k := range sortedNames(m.Config) {
		if _, err := get(k); errors.Is(err, errNoValue) {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: app %s: %s %s no value and no default: set with weave app config %s KEY=VALUE", apppkg.ErrConfig, app,
			strings.Join(missing, ", "), map[bool]string{true: "has", false: "have"}[len(missing) == 1], app)
	}
	return nil
}

// checkUpgradeConfig checks the values set for an app against the
// settings of the version replacing it: each must still be of its key's
// type, and a value set as a secret must stay secret (it would be shown).
// A value the new version does not declare is kept (shown as undeclared).
func (h *Host) checkUpgradeConfig(name string, prev *apitype.App, next *apppkg.Manifest) error {
	cur, err := h.readAppConfig(name)
	if err != nil {
		return err
	}
	var old *apppkg.Manifest
	if prev != nil {
		if old, err = h.appManifest(*prev); err != nil {
			return err
		}
	}
	var errs []error
	for _, k := range sortedNames(cur.Values) {
		v, ok := next.Config[k]
		if !ok {
			continue
		}
		if _, err := apppkg.ParseValue(v.Type, cur.Values[k]); err != nil {
			errs = append(errs, fmt.Errorf("the value set for %s is not a %s, as %s %s declares it: unset it first (weave app config %s --unset %s)",
				k, v.Type, next.Name, next.Version, name, k))
		}
		if old != nil && old.Config[k].Secret && !v.Secret {
			errs = append(errs, fmt.Errorf("%s was set as a secret and %s %s declares it not secret (it would be shown): unset it first (weave app config %s --unset %s)",
				k, next.Name, next.Version, name, k))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", apppkg.ErrConfig, err)
	}
	return nil
}

// appSettings reads what an app's settings are judged against: its
// record, the installed version's manifest and the values set.
func (h *Host) appSettings(name string) (apitype.App, *apppkg.Manifest, appConfigFile, error) {
	a, err := h.App(name)
	if err != nil {
		return apitype.App{}, nil, appConfigFile{}, err
	}
	m, err := h.appManifest(a)
	if err != nil {
		return apitype.App{}, nil, appConfigFile{}, err
	}
	cur, err := h.readAppConfig(name)
	if err != nil {
		return apitype.App{}, nil, appConfigFile{}, err
	}
	return a, m, cur, nil
}

// Config is what weave app config shows: every setting the version
// declares, with its value in effect (never a secret's), and the values
// kept for keys it does not declare.
func (h *Host) Config(name string) (apitype.AppConfig, error) {
	a, m, cur, err := h.appSettings(name)
	if err != nil {
		return apitype.AppConfig{}, err
	}
	out := apitype.AppConfig{App: a.Name, Version: a.Version, Settings: []apitype.AppConfigSetting{}, ActionID: cur.ActionID, Seq: cur.Seq,
		Running: a.Running}
	for _, k := range sortedNames(m.Config) {
		v := m.Config[k]
		s := apitype.AppConfigSetting{Key: k, Type: v.Type, Secret: v.Secret, Description: v.Description, Default: v.Default,
			Source: apitype.ConfigSourceUnset}
		val, set := cur.Values[k]
		switch {
		case set:
			s.Source = apitype.ConfigSourceSet
		case v.Default != nil:
			s.Source, val = apitype.ConfigSourceDefault, *v.Default
		}
		switch {
		case s.Source == apitype.ConfigSourceUnset:
		case v.Secret && set:
			s.Hash = SecretHash(a.Name, k, val)
		case !v.Secret:
			s.Value = &val
		}
		out.Settings = append(out.Settings, s)
	}
	for _, k := range sortedNames(cur.Values) {
		if _, ok := m.Config[k]; !ok {
			// Kept from a version that declared it; whether it was a secret
			// is not known any more: show only its hash.
			out.Settings = append(out.Settings, apitype.AppConfigSetting{Key: k, Source: apitype.ConfigSourceSet, Undeclared: true,
				Hash: SecretHash(a.Name, k, cur.Values[k])})
		}
	}
	return out, nil
}

// Configure sets and unsets an app's settings: the governed act
// app.configure. Each key must be one the installed version declares (or,
// to unset, one kept from an earlier version) and each value of its type;
// a refusal is recorded. The decision's context and the outcome show each
// value set, a secret's as its hash. The values take effect when the app's
// processes next start (at once with req.Restart).
func (h *Host) Configure(ctx context.Context, name string, req apitype.AppConfigRequest) (apitype.AppConfig, error) {
	act := authority.Act{Action: "app.configure", Kind: governance.KindAppConfigure, Source: "apps", Subject: kernelauth.Operator(),
		Context: governance.Context{Extra: map[string]string{"app": name}}}
	refuse := func(cause error) (apitype.AppConfig, error) {
		if err := h.auth.Refuse(ctx, act, cause); errors.Is(err, authority.ErrLedger) {
			return apitype.AppConfig{}, err
		}
		return apitype.AppConfig{}, cause
	}
	a, m, cur, err := h.appSettings(name)
	if errors.Is(err, ErrUnknownApp) {
		return refuse(fmt.Errorf("%w: %w", authority.ErrConflict, err))
	}
	if err != nil {
		return apitype.AppConfig{}, err
	}
	act.Context.Extra["version"] = a.Version
	detail := governance.AppConfigDetail{App: a.Name, Version: a.Version}
	set := map[string]string{}
	var errs []error
	declared := strings.Join(sortedNames(m.Config), ", ")
	if declared == "" {
		declared = "none"
	}
	for _, k := range sortedNames(req.Set) {
		v, ok := m.Config[k]
		if !ok {
			errs = append(errs, fmt.Errorf("%w: %s %s has no setting %q (its settings: %s)", apppkg.ErrConfig, a.Name, a.Version, k, declared))
			continue
		}
		canon, err := apppkg.ParseValue(v.Type, req.Set[k])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
			continue
		}
		set[k] = canon
		if detail.Set == nil {
			detail.Set = map[string]string{}
		}
		if v.Secret {
			detail.Set[k] = SecretHash(a.Name, k, canon)
			detail.Secrets = append(detail.Secrets, k)
		} else {
			detail.Set[k] = canon
		}
		act.Context.Extra["config."+k] = detail.Set[k]
	}
	for _, k := range slices.Compact(slices.Sorted(slices.Values(req.Unset))) {
		v, ok := m.Config[k]
		_, kept := cur.Values[k]
		switch _, both := req.Set[k]; {
		case both:
			errs = append(errs, fmt.Errorf("%w: %s is both set and unset", apppkg.ErrConfig, k))
		case !ok && !kept:
			errs = append(errs, fmt.Errorf("%w: %s %s has no setting %q (its settings: %s)", apppkg.ErrConfig, a.Name, a.Version, k, declared))
		default:
			detail.Unset = append(detail.Unset, k)
			if v.Secret {
				detail.Secrets = append(detail.Secrets, k)
			}
		}
	}
	if len(req.Set) == 0 && len(req.Unset) == 0 {
		errs = append(errs, fmt.Errorf("%w: nothing to change: give KEY=VALUE or --unset KEY", apppkg.ErrConfig))
	}
	if len(detail.Unset) > 0 {
		act.Context.Extra["unset"] = strings.Join(detail.Unset, ",")
	}
	if len(detail.Secrets) > 0 {
		slices.Sort(detail.Secrets)
		act.Context.Extra["secrets"] = strings.Join(detail.Secrets, ",")
	}
	if err := errors.Join(errs...); err != nil {
		return refuse(fmt.Errorf("%w: %w", authority.ErrInput, err))
	}
	pm, err := h.auth.Authorize(ctx, act)
	if err != nil {
		return apitype.AppConfig{}, err
	}
	apply := func() error {
		h.filesMu.Lock()
		defer h.filesMu.Unlock()
		if now, err := h.App(name); err != nil || now.Digest != a.Digest {
			return errors.Join(err, fmt.Errorf("app %s changed (upgraded or removed) while the change waited: configure it again", name))
		}
		cur, err := h.readAppConfig(name)
		if err != nil {
			return err
		}
		maps.Copy(cur.Values, set)
		for _, k := range detail.Unset {
			delete(cur.Values, k)
		}
		cur.ActionID, cur.Seq = pm.ActionID(), 0
		return h.writeAppConfig(name, cur)
	}
	if err := apply(); err != nil {
		return apitype.AppConfig{}, errors.Join(err, pm.Done(ctx, detail, err))
	}
	if err := pm.Done(ctx, detail, nil); err != nil {
		return apitype.AppConfig{}, err
	}
	h.filesMu.Lock()
	cur, err = h.readAppConfig(name)
	if err == nil && cur.ActionID == pm.ActionID() {
		cur.Seq = pm.OutcomeSeq()
		err = h.writeAppConfig(name, cur)
	}
	h.filesMu.Unlock()
	if err != nil {
		return apitype.AppConfig{}, fmt.Errorf("app %s: configured (seq %d) but its config file was not updated: %w", name, pm.OutcomeSeq(), err)
	}
	restarted := false
	if req.Restart && a.Running {
		if _, err := h.Stop(ctx, name); err != nil {
			return apitype.AppConfig{}, fmt.Errorf("app %s configured; stopping it to restart: %w", name, err)
		}
		if _, err := h.Start(ctx, name); err != nil {
			return apitype.AppConfig{}, fmt.Errorf("app %s configured and stopped; starting it again: %w", name, err)
		}
		restarted = true
	}
	out, err := h.Config(name)
	out.Restarted = restarted
	return out, err
}

// WithConfig gives an agent definition an app installed its settings:
// each ${config.KEY} in its system prompt becomes the value in effect. A
// definition the app did not install — another name, or a file elsewhere
// than the home's agents/ (a workspace's) — is returned as it is.
func (h *Host) WithConfig(def agentdef.Definition) (agentdef.Definition, error) {
	if def.Source == "" || filepath.Dir(def.Source) != filepath.Join(h.home, "agents") || !strings.Contains(def.SystemPrompt, "${config.") {
		return def, nil // nothing to expand (nor "$${config." to unescape)
	}
	apps, err := h.List()
	if err != nil {
		return def, err
	}
	for _, a := range apps {
		if !slices.Contains(a.Agents, def.Name) || filepath.Base(def.Source) != def.Name+".yaml" {
			continue
		}
		m, err := h.appManifest(a)
		if err != nil {
			return def, err
		}
		cur, err := h.readAppConfig(a.Name)
		if err != nil {
			return def, err
		}
		if def.SystemPrompt, err = apppkg.Expand(def.SystemPrompt, configValue(a.Name, m, cur.Values)); err != nil {
			return def, fmt.Errorf("agent %s of app %s: %w", def.Name, a.Name, err)
		}
		return def, nil
	}
	return def, nil
}

func sortedNames[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
