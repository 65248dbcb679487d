package daemon

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
	"time"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/apppkg"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/durable"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/layers"
	"github.com/weftos/weftos/internal/schedule"
	"github.com/weftos/weftos/internal/toolhost"
	"github.com/weftos/weftos/internal/toolpkg"
)

// AppsDir holds installed apps in the home: NAME/app.json (the record),
// NAME/config.json (the settings the operator set: appconfig.go),
// NAME/VERSION-DIGEST/ (each installed version's package), and
// trusted_keys (the publisher keys trusted to sign apps: apptrust.go).
const AppsDir = "apps"

// App errors.
var (
	ErrUnknownApp = apitype.ErrUnknownApp
	ErrAppExists  = apitype.ErrAppExists
)

func (d *Daemon) appDir(name string) (string, error) {
	if !validSessionName(name) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("%w: app name %q", kernel.ErrInvalid, name)
	}
	return filepath.Join(d.home, AppsDir, name), nil
}

// appRecord reads an installed app's record.
func (d *Daemon) appRecord(name string) (apitype.App, error) {
	dir, err := d.appDir(name)
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

func (d *Daemon) writeAppRecord(a apitype.App) error {
	dir, err := d.appDir(a.Name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(a, "", "  ")
	return durable.WriteFile(filepath.Join(dir, "app.json"), append(b, '\n'))
}

// listApps lists the installed apps.
func (d *Daemon) listApps() ([]apitype.App, error) {
	ents, err := os.ReadDir(filepath.Join(d.home, AppsDir))
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
		a, err := d.appRecord(e.Name())
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
func (d *Daemon) planApp(pkg *apppkg.Package, prev *apitype.App) (*appPlan, error) {
	m := pkg.Manifest
	pl := &appPlan{pkg: pkg, defs: map[string]agentdef.Definition{}, services: map[string]string{}}
	owned := func(list []string, name string) bool { return prev != nil && slices.Contains(list, name) }
	for _, p := range m.Agents {
		file := filepath.Join(pkg.Dir, filepath.FromSlash(p))
		def, err := d.loadAgent(file)
		if err != nil {
			return nil, err
		}
		caps, err := d.agentCaps(def)
		if errors.Is(err, layers.ErrNotBuilt) {
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
		if _, err := os.Stat(filepath.Join(d.home, "agents", def.Name+".yaml")); err == nil && !owned(prev.Agents, def.Name) {
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
		if _, err := d.toolhost.Record(tm.Name); err == nil && !owned(prev.Tools, tm.Name) {
			return nil, fmt.Errorf("%w: %w: %s", kernel.ErrInvalid, toolhost.ErrToolExists, tm.Name)
		}
		pl.tools = append(pl.tools, tm.Name)
	}
	for _, s := range m.Skills {
		name := path.Base(s)
		if _, err := os.Stat(filepath.Join(d.home, "skills", name)); err == nil && !owned(prev.Skills, name) {
			return nil, fmt.Errorf("%w: skill %s is already in the home", kernel.ErrInvalid, name)
		}
		pl.skills = append(pl.skills, name)
	}
	if err := d.checkUpgradeConfig(m.Name, prev, m); err != nil {
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

// installApp installs (upgrade false) or upgrades an app: the package
// loaded and checked, the governed act app.install (its context shows
// what the app requests, its digest and how it is signed; an unsigned or
// untrusted package waits for a human under the default constitution),
// then its tools installed (each a tool.install act), its agent
// definitions and skills put in the home, and its record written. An
// upgrade stops the running version first and starts the new one after;
// if any step fails, the previous version is put back (and started again
// if it ran) and the outcome records the rollback.
func (d *Daemon) installApp(ctx context.Context, src string, upgrade bool) (apitype.App, error) {
	act := authority.Act{Action: "app.install", Kind: governance.KindAppInstall, Source: "apps", Subject: operator(),
		Context: governance.Context{Extra: map[string]string{"source": src}}}
	refuse := func(cause error) (apitype.App, error) {
		if err := d.auth.Refuse(ctx, act, cause); errors.Is(err, authority.ErrLedger) {
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
	switch old, err := d.appRecord(m.Name); {
	case err == nil && !upgrade:
		return refuse(fmt.Errorf("%w: %w: %s %s (upgrade it: weave app upgrade)", authority.ErrConflict, ErrAppExists, m.Name, old.Version))
	case err == nil:
		prev = &old
	case errors.Is(err, ErrUnknownApp) && upgrade:
		return refuse(fmt.Errorf("%w: %w: %s", authority.ErrConflict, ErrUnknownApp, m.Name))
	case !errors.Is(err, ErrUnknownApp):
		return apitype.App{}, err
	}
	pl, err := d.planApp(pkg, prev)
	if err != nil {
		return refuse(fmt.Errorf("%w: %w", authority.ErrInput, err))
	}
	trust := pkg.Trust(d.trustedKeys())
	act.Context.Extra = map[string]string{"app": m.Name, "version": m.Version, "digest": pkg.Digest, "signature": trust,
		"publisher": pkg.Publisher, "source": src, "requests": strings.Join(pl.requests, ",")}
	detail := governance.AppDetail{App: m.Name, Version: m.Version, Digest: pkg.Digest, Signature: trust, Publisher: pkg.Publisher, Requests: pl.requests}
	if prev != nil {
		act.Context.Extra["previous"] = prev.Version
		detail.Previous = prev.Version
	}
	pm, err := d.auth.Authorize(ctx, act)
	if err != nil {
		return apitype.App{}, err
	}
	rec, err := d.putApp(ctx, pl, prev, src)
	if err != nil {
		detail.RolledBack = prev != nil
		return apitype.App{}, errors.Join(err, pm.Done(ctx, detail, err))
	}
	rec.ActionID = pm.ActionID()
	if err := pm.Done(ctx, detail, nil); err != nil {
		return apitype.App{}, err
	}
	rec.InstallSeq = pm.OutcomeSeq()
	if err := d.writeAppRecord(rec); err != nil {
		return apitype.App{}, fmt.Errorf("app %s: recorded as installed (seq %d) but its record was not written: %w", rec.Name, rec.InstallSeq, err)
	}
	if prev != nil && prev.Running {
		a, err := d.startApp(ctx, rec.Name)
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
func (d *Daemon) putApp(ctx context.Context, pl *appPlan, prev *apitype.App, src string) (rec apitype.App, err error) {
	m := pl.pkg.Manifest
	dir, err := d.appDir(m.Name)
	if err != nil {
		return rec, err
	}
	if prev != nil && prev.Running {
		if _, err := d.stopApp(ctx, prev.Name); err != nil {
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
			_ = d.toolhost.Remove(ctx, t)
		}
		if prev == nil {
			d.removeAppFiles(pl.defs, pl.skills)
			_ = os.RemoveAll(dir)
			return
		}
		// Back to the previous version: its tools, definitions and skills
		// from its own copy; its record was never replaced.
		if rerr := d.placeApp(ctx, *prev, nil); rerr != nil {
			err = errors.Join(err, fmt.Errorf("rolling back to %s: %w", prev.Version, rerr))
		}
		if prev.Running {
			p := *prev
			p.Running = false
			_ = d.writeAppRecord(p)
			if _, rerr := d.startApp(ctx, prev.Name); rerr != nil {
				err = errors.Join(err, fmt.Errorf("restarting %s %s: %w", prev.Name, prev.Version, rerr))
			}
		}
	}()
	if prev != nil {
		for _, t := range prev.Tools {
			if rerr := d.toolhost.Remove(ctx, t); rerr != nil && !errors.Is(rerr, toolhost.ErrUnknownTool) {
				return rec, fmt.Errorf("removing %s's tool %s: %w", prev.Name, t, rerr)
			}
		}
	}
	rec = apitype.App{Name: m.Name, Version: m.Version, Description: m.Description, Digest: pl.pkg.Digest, Signature: pl.pkg.Trust(d.trustedKeys()),
		Publisher: pl.pkg.Publisher, Source: src, Installed: d.opts.Clock.Now().UTC(), Skills: pl.skills, Tools: pl.tools,
		Services: nonNil(m.Services), Cron: nonNil(m.Cron), Requests: m.Requests, Config: m.ConfigDefaults(),
		Workspace: d.home + "-apps" + string(filepath.Separator) + m.Name}
	for a := range pl.defs {
		rec.Agents = append(rec.Agents, a)
	}
	slices.Sort(rec.Agents)
	if prev != nil {
		d.removeAppFiles(agentSet(prev.Agents), prev.Skills)
	}
	if err := d.placeApp(ctx, rec, &installed); err != nil {
		return rec, err
	}
	return rec, nil
}

// placeApp installs a's tools and copies its agent definitions and skills
// into the home from its version's copy. installed, when not nil,
// collects the tools installed.
func (d *Daemon) placeApp(ctx context.Context, a apitype.App, installed *[]string) error {
	dir, err := d.appDir(a.Name)
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
		it, err := d.toolhost.Install(ctx, filepath.Join(version, filepath.FromSlash(t)))
		if err != nil {
			return fmt.Errorf("tool %s: %w", t, err)
		}
		if installed != nil {
			*installed = append(*installed, it.Name)
		}
	}
	if err := os.MkdirAll(filepath.Join(d.home, "agents"), 0o700); err != nil {
		return err
	}
	for _, p := range m.Agents {
		b, err := os.ReadFile(filepath.Join(version, filepath.FromSlash(p)))
		if err != nil {
			return err
		}
		if err := durable.WriteFile(filepath.Join(d.home, "agents", path.Base(p)), b); err != nil {
			return err
		}
	}
	for _, s := range m.Skills {
		dst := filepath.Join(d.home, "skills", path.Base(s))
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
func (d *Daemon) removeAppFiles(defs map[string]agentdef.Definition, skills []string) {
	for name := range defs {
		_ = os.Remove(filepath.Join(d.home, "agents", name+".yaml"))
	}
	for _, s := range skills {
		_ = os.RemoveAll(filepath.Join(d.home, "skills", s))
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

// startApp starts an app's services — each agent under the app's
// supervisor with the manifest's restart policy, with its definition's
// capabilities (which the install showed and governance allowed), every
// spawn and service registration governed — and adds its cron jobs
// (cron.add acts). A failure stops what was started.
func (d *Daemon) startApp(ctx context.Context, name string) (apitype.App, error) {
	a, err := d.appRecord(name)
	if err != nil {
		return a, err
	}
	if a.Running {
		return a, nil
	}
	m, err := d.appManifest(a)
	if err != nil {
		return a, err
	}
	cfg, err := d.readAppConfig(name)
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
		d.stopAppProcesses(context.WithoutCancel(ctx), a)
		return a, err
	}
	for _, s := range a.Services {
		def, err := d.findAgent(s.Agent, a.Workspace)
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
		if _, err := d.startAgentDef(ctx, apitype.AgentStartRequest{Agent: def.Name}, def, a.Workspace); err != nil {
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
		job, err := d.AddCron(ctx, apitype.CronRequest{Name: "app." + name, Schedule: c.Schedule, From: kernel.KernelPID,
			Target: kernel.ToService(services[c.Agent]), Payload: kernel.Text(msg)})
		if err != nil {
			return fail(fmt.Errorf("app %s: cron %s: %w", name, c.Schedule, err))
		}
		a.CronIDs = append(a.CronIDs, job.ID)
	}
	a.Running = true
	if err := d.writeAppRecord(a); err != nil {
		return fail(err)
	}
	return a, nil
}

// stopApp removes an app's cron jobs and stops its supervisor (and with
// it every service).
func (d *Daemon) stopApp(ctx context.Context, name string) (apitype.App, error) {
	a, err := d.appRecord(name)
	if err != nil {
		return a, err
	}
	if err := d.stopAppProcesses(ctx, a); err != nil {
		return a, err
	}
	a.Running, a.CronIDs, a.Supervisor = false, nil, ""
	return a, d.writeAppRecord(a)
}

func (d *Daemon) stopAppProcesses(ctx context.Context, a apitype.App) error {
	var errs []error
	for _, id := range a.CronIDs {
		if err := d.RemoveCron(ctx, id); err != nil && !errors.Is(err, kernel.ErrUnknownJob) {
			errs = append(errs, err)
		}
	}
	if pid, ok := d.dropSupervisor(appSupervisor(a.Name)); ok {
		if err := d.kernel.Control(ctx, kernel.KernelPID, pid, kernel.OpStop); err != nil && !errors.Is(err, kernel.ErrUnknownPID) {
			errs = append(errs, err)
		}
		wctx, cancel := context.WithTimeout(ctx, d.cfg.Kernel.StopGrace.Duration+5*time.Second)
		_, _ = d.kernel.Wait(wctx, pid)
		cancel()
	}
	return errors.Join(errs...)
}

// removeApp stops an app and removes what it installed (its tools, each a
// tool.remove act; its definitions, skills and copies) — a governed act,
// app.remove. The chain keeps its history.
func (d *Daemon) removeApp(ctx context.Context, name string) error {
	act := authority.Act{Action: "app.remove", Kind: governance.KindAppRemove, Source: "apps", Subject: operator(),
		Context: governance.Context{Extra: map[string]string{"app": name}}}
	a, err := d.appRecord(name)
	if err != nil {
		if rerr := d.auth.Refuse(ctx, act, fmt.Errorf("%w: %w", authority.ErrConflict, err)); errors.Is(rerr, authority.ErrLedger) {
			return rerr
		}
		return err
	}
	act.Context.Extra["version"], act.Context.Extra["digest"] = a.Version, a.Digest
	return d.auth.Do(ctx, act, func(ctx context.Context, _ *authority.Permit) (any, error) {
		detail := governance.AppDetail{App: a.Name, Version: a.Version, Digest: a.Digest}
		if err := d.stopAppProcesses(ctx, a); err != nil {
			return detail, err
		}
		for _, t := range a.Tools {
			if err := d.toolhost.Remove(ctx, t); err != nil && !errors.Is(err, toolhost.ErrUnknownTool) {
				return detail, err
			}
		}
		d.removeAppFiles(agentSet(a.Agents), a.Skills)
		dir, _ := d.appDir(a.Name)
		return detail, os.RemoveAll(dir)
	})
}

// restoreApps starts again, at boot, the apps that were running when the
// node stopped: their processes did not survive it, and the cron jobs
// restored from cron.json are replaced by the fresh start's.
func (d *Daemon) restoreApps(ctx context.Context) {
	list, err := d.listApps()
	if err != nil {
		d.log.Error("listing apps to restore", "err", err)
		return
	}
	for _, a := range list {
		if !a.Running {
			continue
		}
		for _, id := range a.CronIDs {
			if err := d.RemoveCron(ctx, id); err != nil && !errors.Is(err, kernel.ErrUnknownJob) {
				d.log.Warn("removing a restored cron job of an app", "app", a.Name, "job", id, "err", err)
			}
		}
		a.Running, a.CronIDs, a.Supervisor = false, nil, ""
		if err := d.writeAppRecord(a); err != nil {
			d.log.Error("app record", "app", a.Name, "err", err)
			continue
		}
		if _, err := d.startApp(ctx, a.Name); err != nil {
			d.log.Error("restarting an app at boot", "app", a.Name, "err", err)
			continue
		}
		d.log.Info("app restarted at boot", "app", a.Name, "version", a.Version)
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
