package doctor

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/config"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/identity"
)

// Layout names the files of a home the checks read.
type Layout struct {
	Home         string
	ChainDir     string // HOME/chain
	Constitution string // HOME/constitution.toml
	LogFile      string // HOME/weave.log
}

// LayoutOf is the layout of the home directory home (internal/homedir).
func LayoutOf(home string) Layout {
	return Layout{Home: home, ChainDir: filepath.Join(home, homedir.Chain), Constitution: filepath.Join(home, homedir.Constitution),
		LogFile: filepath.Join(home, homedir.Log)}
}

// ReadConfig reads weftos.toml without writing the default when it is
// missing (the daemon does that at boot): the defaults then apply, as they
// do, with the error, when the file cannot be read or is invalid.
func ReadConfig(home string) (config.Config, error) {
	path := filepath.Join(home, config.FileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return config.Defaults(), nil
	}
	if err != nil {
		return config.Defaults(), err
	}
	cfg, err := config.Parse(path, data)
	if err != nil {
		return config.Defaults(), err
	}
	return cfg, nil
}

// Config reports whether weftos.toml is valid (the daemon refuses to boot
// on an invalid one).
func Config(home string) Check {
	return func(context.Context) []apitype.DoctorCheck {
		const name = "config"
		path := filepath.Join(home, config.FileName)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return ok(name, "%s not written yet: the defaults apply (weave boot writes it)", path)
		}
		if _, err := ReadConfig(home); err != nil {
			return fail(name, "correct the key it names (the daemon refuses to boot until then)", "%v", err)
		}
		return ok(name, "%s is valid", path)
	}
}

// NotRunning is the daemon check when none answers.
func NotRunning() Check {
	return func(context.Context) []apitype.DoctorCheck {
		return warn("daemon", "weave boot --detach; weave doctor then checks the live node too",
			"no daemon is running: these checks read the home's files")
	}
}

// Offline returns the checks that need no daemon, reading the home's
// files: the daemon (not running), the configuration, the home, the keys,
// the chain (verified from its files, pinned to the node's keys), the
// constitution (replayed from the chain), the providers configured in cfg
// and this process's environment, free disk space, Landlock and the log.
func Offline(l Layout, cfg config.Config, providers []Provider) []Check {
	var pin *chain.PublicKeys
	if id, err := identity.Load(l.Home); err == nil {
		pub := chain.Keys{Ed25519: id.Ed25519, MLDSA65: id.MLDSA65}.Public()
		pin = &pub
	}
	return []Check{
		NotRunning(),
		Config(l.Home),
		Home(l.Home),
		Keys(l.Home, chainHasEvents(l.ChainDir)),
		Chain(VerifyDir(l.ChainDir, pin)),
		Constitution(ConstitutionOffline(l.ChainDir, l.Constitution)),
		Providers(providers),
		Disk(l.Home),
		Landlock(cfg.Agents.ShellConfinement),
		LogFile(l.LogFile, 0, nil),
	}
}

// chainHasEvents reports whether dir holds a chain with events.
func chainHasEvents(dir string) bool {
	if _, err := os.Stat(dir); err != nil {
		return false
	}
	r, err := chain.OpenReader(dir)
	if err != nil {
		return true // something is there; the chain check says what is wrong
	}
	defer r.Close()
	return r.Len() > 0
}
