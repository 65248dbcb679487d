package apphost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/apppkg"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/durable"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/kernelauth"
	"github.com/weftos/weftos/internal/layers"
	"github.com/weftos/weftos/internal/schedule"
	"github.com/weftos/weftos/internal/session"
	"github.com/weftos/weftos/internal/toolpkg"
)

func (h *Host) appDir(name string) (string, error) {
	if !session.ValidName(name) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("%w: app name %q", kernel.ErrInvalid, name)
	}
	return filepath.Join(h.home, Dir, name), nil
}

// App reads an installed app's record.
func (h *Host) App(name string) (apitype.App, error) {
	dir, err := h.appDir(name)
	if err != nil {
		return apitype.App{}, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "app.json"))
	if errors.Is(err, os.ErrNotExist) {
		return apitype.App{}, fmt.Errorf("%w: %s", ErrUnknownApp, name)
	}
	if err != nil {
		return apitype.App{}, err
	}
	var a apitype.App
	if err := json.Unmarshal(b, &a); err != nil {
		return apitype.App{}, fmt.Errorf("app %s: damaged record: %w", name, err)
	}
	return a, nil
}

func (h *Host) writeAppRecord(a apitype.App) error {
	dir, err := h.appDir(a.Name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(a, "", "  ")
	return durable.WriteFile(filepath.Join(dir, "app.json"), append(b, '\n'))
}

// List lists the installed apps.
func (h *Host) List() ([]apitype.App, error) {
	ents, err := os.ReadDir(filepath.Join(h.home, Dir))
	if errors.Is(err, os.ErrNotExist) {
		return []apitype.App{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := []apitype.App{}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		a, err := h.App(e.Name())
		if errors.Is(err, ErrUnknownApp) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// appPlan is what an install or upgrade would put in place, checked
// before governance sees it.
type appPlan struct {
	pkg      *apppkg.Package
	defs     map[string]agentdef.Definition // agent name → definition
	tools    []string                       // tool names, in manifest order
	skills   []string                       // skill names
	services map[string]string              // agent → the service its cron jobs target
	requests []string                       // what the approver is shown
}

// planApp checks a package against the node: every agent definition
// parses and asks only for capabilities the app requests; cron jobs'
// schedules parse and target a service; nothing the app brings takes the
// name of something another app or the operator installed.
func (h *Host) planApp(pkg *apppkg.Package, prev *apitype.App) (*appPlan, error) {
	m := pkg.Manifest
	pl := &appPlan{pkg: pkg, defs: map[string]agentdef.Definition{}, services: map[string]string{}}
	owned := func(list []string, name string) bool { return prev != nil && slices.Contains(list, name) }
	for _, p := range m.Agents {
		file := filepath.Join(pkg.Dir, filepath.FromSlash(p))
		def, err := agentdef.Load(file)
		if err != nil {
			return nil, err
		}
		caps, err := h.agents.Caps(def)
		if errors.Is(err, layers.ErrNotBuilt) { // a binary without agents (nollm)
			return nil, fmt.Errorf("agent %s: %w", def.Name, err)
		}
		for _, c := range mustCaps(caps, err) {
			if !slices.Contains(m.Requests.Capabilities, c) {
				return nil, fmt.Errorf("%w: agent %s asks for %s, which the app does not request", kernel.ErrInvalid, def.Name, c)
			}
		}
		if err := m.CheckReferences(def.SystemPrompt, true); err != nil {
			return nil, fmt.Errorf("agent %s: system_prompt: %w", def.Name, err)
		}
		if _, err := os.Stat(filepath.Join(h.home, "agents", def.Name+".yaml")); err == nil && !owned(prev.Agents, def.Name) {
			return nil, fmt.Errorf("%w: agent %s is already defined in the home", kernel.ErrInvalid, def.Name)
		}
		pl.defs[def.Name] = def
	}
	for _, s := range m.Services {
		def := pl.defs[s.Agent]
		if len(def.Services) == 0 {
			return nil, fmt.Errorf("%w: service agent %s declares no services: to serve, its definition needs services:", kernel.ErrInvalid, s.Agent)
		}
		pl.services[s.Agent] = def.Services[0].Name
	}
	for _, c := range m.Cron {
		if _, err := schedule.Parse(c.Schedule); err != nil {
			return nil, fmt.Errorf("%w: cron %q: %v", kernel.ErrInvalid, c.Schedule, err)
		}
	}
	for _, t := range m.Tools {
		data, err := os.ReadFile(filepath.Join(pkg.Dir, filepath.FromSlash(t), toolpkg.ManifestFile))
		if err != nil {
			return nil, err
		}
		tm, err := toolpkg.ParseManifest(t+"/"+toolpkg.ManifestFile, data)
		if err != nil {
			return nil, err
		}
		for _, h := range tm.Grants.Hosts {
			if !slices.Contains(m.Requests.Hosts, h) {
				return nil, fmt.Errorf("%w: tool %s reaches %s, which the app does not request", kernel.ErrInvalid, tm.Name, h)
			}
		}
		if _, err := h.tools.Record(tm.Name); err == nil && !owned(prev.Tools, tm.Name) {
			return nil, fmt.Errorf("%w: %w: %s", kernel.ErrInvalid, toolpkg.ErrToolExists, tm.Name)
		}
		pl.tools = append(pl.tools, tm.Name)
	}
	for _, s := range m.Skills {
		name := path.Base(s)
		if _, err := os.Stat(filepath.Join(h.home, "skills", name)); err == nil && !owned(prev.Skills, name) {
			return nil, fmt.Errorf("%w: skill %s is already in the home", kernel.ErrInvalid, name)
		}
		pl.skills = append(pl.skills, name)
	}
	if err := h.checkUpgradeConfig(m.Name, prev, m); err != nil {
		return nil, err
	}
	pl.requests = append(pl.requests, m.Requests.Capabilities...)
	for _, h := range m.Requests.Hosts {
		pl.requests = append(pl.requests, "host:"+h)
	}
	for a := range pl.defs {
		pl.requests = append(pl.requests, "agent:"+a)
	}
	for _, t := range pl.tools {
		pl.requests = append(pl.requests, "tool:"+t)
	}
	for _, s := range m.Services {
		pl.requests = append(pl.requests, "service:"+s.Agent)
	}
	for _, c := range m.Cron {
		pl.requests = append(pl.requests, "cron:"+c.Schedule+"→"+c.Agent)
	}
	slices.Sort(pl.requests)
	return pl, nil
}

func mustCaps(c kernel.Capabilities, err error) []string {
	if err != nil {
		return []string{"invalid capabilities: " + err.Error()}
	}
	return c.Names()
}

// Install installs (upgrade false) or upgrades an app: the package
// loaded and checked, the governed act app.install (its context shows
// what the app requests, its digest and how it is signed; an unsigned or
// untrusted package waits for a human under the default constitution),
// then its tools installed (each a tool.install act), its agent
// definitions and skills put in the home, and its record written. An
// upgrade stops the running version first and starts the new one after;
// if any step fails, the previous version is put back (and started again
// if it ran) and the outcome records the rollback.
func (h *Host) Install(ctx context.Context, src string, upgrade bool) (apitype.App, error) {
	act := authority.Act{Action: "app.install", Kind: governance.KindAppInstall, Source: "apps", Subject: kernelauth.Operator(),
		Context: governance.Context{Extra: map[string]string{"source": src}}}
	refuse := func(cause error) (apitype.App, error) {
		if err := h.auth.Refuse(ctx, act, cause); errors.Is(err, authority.ErrLedger) {
			return apitype.App{}, err
		}
		return apitype.App{}, cause
	}
	pkg, err := apppkg.Load(src)
	if err != nil {
		return refuse(fmt.Errorf("%w: %w", authority.ErrInput, err))
	}
	defer pkg.Close()
	m := pkg.Manifest
	var prev *apitype.App
	switch old, err := h.App(m.Name); {
	case err == nil && !upgrade:
		return refuse(fmt.Errorf("%w: %w: %s %s (upgrade it: weave app upgrade)", authority.ErrConflict, ErrAppExists, m.Name, old.Version))
	case err == nil:
		prev = &old
	case errors.Is(err, ErrUnknownApp) && upgrade:
		return refuse(fmt.Errorf("%w: %w: %s", authority.ErrConflict, ErrUnknownApp, m.Name))
	case !errors.Is(err, ErrUnknownApp):
		return apitype.App{}, err
	}
	pl, err := h.planApp(pkg, prev)
	if err != nil {
		return refuse(fmt.Errorf("%w: %w", authority.ErrInput, err))
	}
	trust := pkg.Trust(h.TrustedKeys())
	act.Context.Extra = map[string]string{"app": m.Name, "version": m.Version, "digest": pkg.Digest, "signature": trust,
		"publisher": pkg.Publisher, "source": src, "requests": strings.Join(pl.requests, ",")}
	detail := governance.AppDetail{App: m.Name, Version: m.Version, Digest: pkg.Digest, Signature: trust, Publisher: pkg.Publisher, Requests: pl.requests}
	if prev != nil {
		act.Context.Extra["previous"] = prev.Version
		detail.Previous = prev.Version
	}
	pm, err := h.auth.Authorize(ctx, act)
	if err != nil {
		return apitype.App{}, err
	}
	rec, err := h.putApp(ctx, pl, prev, src)
	if err != nil {
		detail.RolledBack = prev != nil
		return apitype.App{}, errors.Join(err, pm.Done(ctx, detail, err))
	}
	rec.ActionID = pm.ActionID()
	if err := pm.Done(ctx, detail, nil); err != nil {
		return apitype.App{}, err
	}
	rec.InstallSeq = pm.OutcomeSeq()
	if err := h.writeAppRecord(rec); err != nil {
		return apitype.App{}, fmt.Errorf("app %s: recorded as installed (seq %d) but its record was not written: %w", rec.Name, rec.InstallSeq, err)
	}
	if prev != nil && prev.Running {
		a, err := h.Start(ctx, rec.Name)
		if err != nil {
			// A new required setting, say: installed, but stopped.
			return a, fmt.Errorf("%s %s installed (chain seq %d) but not started again: %w", rec.Name, rec.Version, rec.InstallSeq, err)
		}
		return a, nil
	}
	return rec, nil
}

// putApp puts the planned version in place, rolling back to prev on
// failure.
func (h *Host) putApp(ctx context.Context, pl *appPlan, prev *apitype.App, src string) (rec apitype.App, err error) {
	m := pl.pkg.Manifest
	dir, err := h.appDir(m.Name)
	if err != nil {
		return rec, err
	}
	if prev != nil && prev.Running {
		if _, err := h.Stop(ctx, prev.Name); err != nil {
			return rec, fmt.Errorf("stopping %s %s for the upgrade: %w", prev.Name, prev.Version, err)
		}
	}
	version := filepath.Join(dir, m.Version+"-"+pl.pkg.Digest[:12])
	if err := copyTree(pl.pkg.Dir, version); err != nil {
		return rec, err
	}
	var installed []string
	defer func() {
		if err == nil {
			return
		}
		ctx := context.WithoutCancel(ctx)
		for _, t := range installed {
			_ = h.tools.Remove(ctx, t)
		}
		if prev == nil {
			h.removeAppFiles(pl.defs, pl.skills)
			_ = os.RemoveAll(dir)
			return
		}
		// Back to the previous version: its tools, definitions and skills
		// from its own copy; its record was never replaced.
		if rerr := h.placeApp(ctx, *prev, nil); rerr != nil {
			err = errors.Join(err, fmt.Errorf("rolling back to %s: %w", prev.Version, rerr))
		}
		if prev.Running {
			p := *prev
			p.Running = false
			_ = h.writeAppRecord(p)
			if _, rerr := h.Start(ctx, prev.Name); rerr != nil {
				err = errors.Join(err, fmt.Errorf("restarting %s %s: %w", prev.Name, prev.Version, rerr))
			}
		}
	}()
	if prev != nil {
		for _, t := range prev.Tools {
			if rerr := h.tools.Remove(ctx, t); rerr != nil && !errors.Is(rerr, toolpkg.ErrUnknownTool) {
				return rec, fmt.Errorf("removing %s's tool %s: %w", prev.Name, t, rerr)
			}
		}
	}
	rec = apitype.App{Name: m.Name, Version: m.Version, Description: m.Description, Digest: pl.pkg.Digest, Signature: pl.pkg.Trust(h.TrustedKeys()),
		Publisher: pl.pkg.Publisher, Source: src, Installed: h.clock.Now().UTC(), Skills: pl.skills, Tools: pl.tools,
		Services: nonNil(m.Services), Cron: nonNil(m.Cron), Requests: m.Requests, Config: m.ConfigDefaults(),
		Workspace: h.home + "-apps" + string(filepath.Separator) + m.Name}
	for a := range pl.defs {
		rec.Agents = append(rec.Agents, a)
	}
	slices.Sort(rec.Agents)
	if prev != nil {
		h.removeAppFiles(agentSet(prev.Agents), prev.Skills)
	}
	if err := h.placeApp(ctx, rec, &installed); err != nil {
		return rec, err
	}
	return rec, nil
}

// placeApp installs a's tools and copies its agent definitions and skills
// into the home from its version's copy. installed, when not nil,
// collects the tools installed.
func (h *Host) placeApp(ctx context.Context, a apitype.App, installed *[]string) error {
	dir, err := h.appDir(a.Name)
	if err != nil {
		return err
	}
	version := filepath.Join(dir, a.Version+"-"+a.Digest[:12])
	pkg, err := apppkg.LoadDir(version)
	if err != nil {
		return fmt.Errorf("app %s %s: its installed copy: %w", a.Name, a.Version, err)
	}
	if pkg.Digest != a.Digest {
		return fmt.Errorf("app %s %s: its installed copy changed (digest %s, recorded %s)", a.Name, a.Version, pkg.Digest, a.Digest)
	}
	m := pkg.Manifest
	for _, t := range m.Tools {
		it, err := h.tools.Install(ctx, filepath.Join(version, filepath.FromSlash(t)))
		if err != nil {
			return fmt.Errorf("tool %s: %w", t, err)
		}
		if installed != nil {
			*installed = append(*installed, it.Name)
		}
	}
	if err := os.MkdirAll(filepath.Join(h.home, "agents"), 0o700); err != nil {
		return err
	}
	for _, p := range m.Agents {
		b, err := os.ReadFile(filepath.Join(version, filepath.FromSlash(p)))
		if err != nil {
			return err
		}
		if err := durable.WriteFile(filepath.Join(h.home, "agents", path.Base(p)), b); err != nil {
			return err
		}
	}
	for _, s := range m.Skills {
		dst := filepath.Join(h.home, "skills", path.Base(s))
		_ = os.RemoveAll(dst)
		if err := copyTree(filepath.Join(version, filepath.FromSlash(s)), dst); err != nil {
			return err
		}
	}
	return nil
}

func agentSet(names []string) map[string]agentdef.Definition {
	out := map[string]agentdef.Definition{}
	for _, n := range names {
		out[n] = agentdef.Definition{Name: n}
	}
	return out
}

// removeAppFiles removes an app's agent definitions and skills from the
// home.
func (h *Host) removeAppFiles(defs map[string]agentdef.Definition, skills []string) {
	for name := range defs {
		_ = os.Remove(filepath.Join(h.home, "agents", name+".yaml"))
	}
	for _, s := range skills {
		_ = os.RemoveAll(filepath.Join(h.home, "skills", s))
	}
}

// copyTree copies the directory src to dst (which must not exist) via a
// temporary directory and a rename.
func copyTree(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return nil // an identical version (same digest) is already there
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".copy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.CopyFS(filepath.Join(tmp, "x"), os.DirFS(src)); err != nil {
		return err
	}
	return os.Rename(filepath.Join(tmp, "x"), dst)
}

// appSupervisor names the supervisor an app's services run under.
func appSupervisor(app string) string { return "app." + app }

// Start starts an app's services — each agent under the app's
// supervisor with the manifest's restart policy, with its definition's
// capabilities (which the install showed and governance allowed), every
// spawn and service registration governed — and adds its cron jobs
// (cron.add acts). A failure stops what was started.
func (h *Host) Start(ctx context.Context, name string) (apitype.App, error) {
	a, err := h.App(name)
	if err != nil {
		return a, err
	}
	if a.Running {
		return a, nil
	}
	m, err := h.appManifest(a)
	if err != nil {
		return a, err
	}
	cfg, err := h.readAppConfig(name)
	if err != nil {
		return a, err
	}
	if err := checkAppConfig(name, m, cfg.Values); err != nil {
		return a, err
	}
	if err := os.MkdirAll(a.Workspace, 0o700); err != nil {
		return a, err
	}
	a.Supervisor = appSupervisor(name)
	services := map[string]string{}
	fail := func(err error) (apitype.App, error) {
		h.stopAppProcesses(context.WithoutCancel(ctx), a)
		return a, err
	}
	for _, s := range a.Services {
		def, err := h.agents.FindAgent(s.Agent, a.Workspace)
		if err != nil {
			return fail(err)
		}
		restart := s.Restart
		if restart == "" {
			restart = agentdef.RestartPermanent
		}
		sup := agentdef.Supervision{Restart: restart, Supervisor: a.Supervisor}
		if def.Supervision != nil {
			sup.Strategy, sup.MaxRestarts, sup.Window = def.Supervision.Strategy, def.Supervision.MaxRestarts, def.Supervision.Window
		}
		def.Supervision = &sup
		if err := h.services.StartService(ctx, def, a.Workspace); err != nil {
			return fail(fmt.Errorf("app %s: service %s: %w", name, s.Agent, err))
		}
		if len(def.Services) > 0 {
			services[s.Agent] = def.Services[0].Name
		}
	}
	for _, c := range a.Cron {
		msg, err := apppkg.Expand(c.Message, configValue(name, m, cfg.Values))
		if err != nil {
			return fail(fmt.Errorf("app %s: cron %s: %w", name, c.Schedule, err))
		}
		job, err := h.cron.AddCron(ctx, apitype.CronRequest{Name: "app." + name, Schedule: c.Schedule, From: kernel.KernelPID,
			Target: kernel.ToService(services[c.Agent]), Payload: kernel.Text(msg)})
		if err != nil {
			return fail(fmt.Errorf("app %s: cron %s: %w", name, c.Schedule, err))
		}
		a.CronIDs = append(a.CronIDs, job.ID)
	}
	a.Running = true
	if err := h.writeAppRecord(a); err != nil {
		return fail(err)
	}
	return a, nil
}

// Stop removes an app's cron jobs and stops its supervisor (and with
// it every service).
func (h *Host) Stop(ctx context.Context, name string) (apitype.App, error) {
	a, err := h.App(name)
	if err != nil {
		return a, err
	}
	if err := h.stopAppProcesses(ctx, a); err != nil {
		return a, err
	}
	a.Running, a.CronIDs, a.Supervisor = false, nil, ""
	return a, h.writeAppRecord(a)
}

func (h *Host) stopAppProcesses(ctx context.Context, a apitype.App) error {
	var errs []error
	for _, id := range a.CronIDs {
		if err := h.cron.RemoveCron(ctx, id); err != nil && !errors.Is(err, kernel.ErrUnknownJob) {
			errs = append(errs, err)
		}
	}
	if err := h.services.StopSupervisor(ctx, appSupervisor(a.Name)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Remove stops an app and removes what it installed (its tools, each a
// tool.remove act; its definitions, skills and copies) — a governed act,
// app.remove. The chain keeps its history.
func (h *Host) Remove(ctx context.Context, name string) error {
	act := authority.Act{Action: "app.remove", Kind: governance.KindAppRemove, Source: "apps", Subject: kernelauth.Operator(),
		Context: governance.Context{Extra: map[string]string{"app": name}}}
	a, err := h.App(name)
	if err != nil {
		if rerr := h.auth.Refuse(ctx, act, fmt.Errorf("%w: %w", authority.ErrConflict, err)); errors.Is(rerr, authority.ErrLedger) {
			return rerr
		}
		return err
	}
	act.Context.Extra["version"], act.Context.Extra["digest"] = a.Version, a.Digest
	return h.auth.Do(ctx, act, func(ctx context.Context, _ *authority.Permit) (any, error) {
		detail := governance.AppDetail{App: a.Name, Version: a.Version, Digest: a.Digest}
		if err := h.stopAppProcesses(ctx, a); err != nil {
			return detail, err
		}
		for _, t := range a.Tools {
			if err := h.tools.Remove(ctx, t); err != nil && !errors.Is(err, toolpkg.ErrUnknownTool) {
				return detail, err
			}
		}
		h.removeAppFiles(agentSet(a.Agents), a.Skills)
		dir, _ := h.appDir(a.Name)
		return detail, os.RemoveAll(dir)
	})
}

// Restore starts again, at boot, the apps that were running when the
// node stopped: their processes did not survive it, and the cron jobs
// restored from cron.json are replaced by the fresh start's.
func (h *Host) Restore(ctx context.Context) {
	list, err := h.List()
	if err != nil {
		h.log.Error("listing apps to restore", "err", err)
		return
	}
	for _, a := range list {
		if !a.Running {
			continue
		}
		for _, id := range a.CronIDs {
			if err := h.cron.RemoveCron(ctx, id); err != nil && !errors.Is(err, kernel.ErrUnknownJob) {
				h.log.Warn("removing a restored cron job of an app", "app", a.Name, "job", id, "err", err)
			}
		}
		a.Running, a.CronIDs, a.Supervisor = false, nil, ""
		if err := h.writeAppRecord(a); err != nil {
			h.log.Error("app record", "app", a.Name, "err", err)
			continue
		}
		if _, err := h.Start(ctx, a.Name); err != nil {
			h.log.Error("restarting an app at boot", "app", a.Name, "err", err)
			continue
		}
		h.log.Info("app restarted at boot", "app", a.Name, "version", a.Version)
	}
}

// nonNil makes a nil slice empty, so a record hashes the same before and
// after a JSON round trip through omitempty fields.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
