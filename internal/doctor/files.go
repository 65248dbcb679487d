package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/identity"
)

// Home checks the home directory: a directory that no one else may write
// (fail) or read (warn), owned by the user running the check.
func Home(home string) Check {
	return func(context.Context) []apitype.DoctorCheck {
		const name = "home"
		st, err := os.Stat(home)
		if errors.Is(err, fs.ErrNotExist) {
			return warn(name, "weave boot creates it", "%s does not exist yet", home)
		}
		if err != nil {
			return fail(name, "check the path and its parents' permissions", "%s: %v", home, err)
		}
		if !st.IsDir() {
			return fail(name, "point --home or WEFTOS_HOME at a directory", "%s is not a directory", home)
		}
		if !permsApply {
			return skip(name, "%s: file modes are not checked on this platform", home)
		}
		mode := st.Mode().Perm()
		fix := "chmod 700 " + home
		switch {
		case mode&0o022 != 0:
			return fail(name, fix, "%s has mode %04o: others can write to the node's home (keys, chain, configuration)", home, mode)
		case !ownedByMe(st):
			return warn(name, "run weave as the home's owner, or chown it", "%s is not owned by the current user", home)
		case mode&0o077 != 0:
			return warn(name, fix, "%s has mode %04o: others can read the node's files", home, mode)
		}
		return ok(name, "%s: mode %04o, owned by the current user", home, mode)
	}
}

// Keys checks the node keys: both present, readable only by their owner,
// well-formed. chainEvents says whether the chain already holds events
// (then a missing key is a lost identity, not a node not yet booted).
// Key material is never printed.
func Keys(home string, chainEvents bool) Check {
	return func(context.Context) []apitype.DoctorCheck {
		const name = "keys"
		dir := filepath.Join(home, identity.Dir)
		var missing []string
		for _, f := range []string{identity.Ed25519File, identity.MLDSA65File} {
			p := filepath.Join(dir, f)
			st, err := os.Stat(p)
			if errors.Is(err, fs.ErrNotExist) {
				missing = append(missing, p)
				continue
			}
			if err != nil {
				return fail(name, "check the permissions of "+dir, "%s: %v", p, err)
			}
			if permsApply && st.Mode().Perm()&0o077 != 0 {
				return fail(name, fmt.Sprintf("chmod 600 %s (and treat the key as exposed)", p),
					"%s has mode %04o: others can read the node's private key", p, st.Mode().Perm())
			}
		}
		if len(missing) > 0 {
			if chainEvents {
				return fail(name, "restore "+dir+" from a backup: a new key would be a different node, and the chain would not verify against it",
					"missing %v although the chain holds events signed by this node", missing)
			}
			return warn(name, "weave boot creates them", "not created yet (%d missing)", len(missing))
		}
		id, err := identity.Load(home)
		if err != nil {
			return fail(name, "restore "+dir+" from a backup", "%v", err)
		}
		if permsApply {
			if st, err := os.Stat(dir); err == nil && st.Mode().Perm()&0o077 != 0 {
				return warn(name, "chmod 700 "+dir, "%s has mode %04o", dir, st.Mode().Perm())
			}
		}
		return ok(name, "Ed25519 and ML-DSA-65 keys present and private (node %s)", id.NodeID)
	}
}

// Disk checks the free space of the file system holding the home: below
// 100 MiB the chain may fail to append (and the node then refuses every
// privileged act); below 1 GiB or 5 % is a warning.
func Disk(home string) Check {
	return func(context.Context) []apitype.DoctorCheck {
		const name = "disk"
		// A home not created yet will be created in its nearest existing
		// ancestor's file system.
		dir := home
		for {
			if _, err := os.Stat(dir); err == nil || filepath.Dir(dir) == dir {
				break
			}
			dir = filepath.Dir(dir)
		}
		free, total, err := diskSpace(dir)
		if errors.Is(err, errDiskUnsupported) {
			return skip(name, "free space is not checked on this platform")
		}
		if err != nil {
			return warn(name, "check that "+dir+" is readable", "cannot read free space: %v", err)
		}
		return diskVerdict(dir, free, total)
	}
}

func diskVerdict(home string, free, total uint64) []apitype.DoctorCheck {
	const name = "disk"
	msg := fmt.Sprintf("%s free of %s in %s", bytesIEC(free), bytesIEC(total), home)
	fix := "free space on that file system, or move the home (--home) to a larger one"
	switch {
	case free < 100<<20:
		return fail(name, fix, "%s: the audit chain may fail to append, and the node then refuses every privileged act", msg)
	case free < 1<<30 || (total > 0 && free < total/20):
		return warn(name, fix, "%s: running low", msg)
	}
	return ok(name, "%s", msg)
}

// LogFile checks the daemon's log file. writeErrors and lastErr come from
// a running daemon (nil lastErr and 0 otherwise).
func LogFile(path string, writeErrors uint64, lastErr error) Check {
	return func(context.Context) []apitype.DoctorCheck {
		const name = "log"
		if writeErrors > 0 {
			return warn(name, "check free space and the permissions of "+filepath.Dir(path),
				"%d writes to %s failed (the lines still went to the daemon's stderr): %v", writeErrors, path, lastErr)
		}
		st, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return ok(name, "%s not written yet", path)
		}
		if err != nil {
			return warn(name, "check the permissions of "+filepath.Dir(path), "%v", err)
		}
		if permsApply && st.Mode().Perm()&0o077 != 0 {
			return warn(name, "chmod 600 "+path, "%s has mode %04o", path, st.Mode().Perm())
		}
		return ok(name, "%s: %s (weave logs)", path, bytesIEC(uint64(st.Size())))
	}
}
