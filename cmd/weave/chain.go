package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/chainquery"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/homedir"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{
			Name:    "chain",
			Summary: "the audit chain: status, tail, show, verify, export, prove, consistency, keys",
			Help:    "Read-only: with a running daemon the commands ask it; with none they read the chain in the home.",
			Subs: []*cmdline.Command{
				{Name: "status", Summary: "length, head, checkpoints and signing keys", Setup: e.leaf(chainStatus)},
				{Name: "tail", Summary: "print recent events (-f: keep following new ones)", Setup: e.leaf(chainTail)},
				{Name: "show", Summary: "print one event as JSON", Args: "SEQ", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(chainShow)},
				{Name: "verify", Summary: "verify every hash, link, Merkle root and signature of the chain (or of an export)", Setup: e.leaf(chainVerify)},
				{Name: "export", Summary: "write the chain as JSON Lines", Setup: e.leaf(chainExport)},
				{Name: "prove", Summary: "print an event's inclusion proof, checked against the chain's keys", Args: "SEQ", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(chainProve)},
				{Name: "consistency", Summary: "prove that the tree of size OLD is a prefix of the tree of size NEW", Args: "OLD NEW", MinArgs: 2, MaxArgs: 2, Setup: e.leaf(chainConsistency)},
				{Name: "keys", Summary: "print the chain's origin, id and public keys", Setup: e.leaf(chainKeys)},
				{Name: "witnesses", Summary: "what this node witnessed of its cluster peers' chains (checkpoints, forks)", Setup: e.leaf(chainWitnesses)},
			},
		}
	})
}

// chainAccess answers read-only chain queries from the running daemon, or,
// when none runs, from the chain directory in the home.
type chainAccess struct {
	c      *client.Client
	reader *chain.Reader
}

func (e *env) openChain(ctx context.Context) (*chainAccess, error) {
	c, err := e.client()
	if err != nil {
		return nil, err
	}
	if _, err := c.Status(ctx); err == nil {
		return &chainAccess{c: c}, nil
	} else if !errors.Is(err, client.ErrNoDaemon) {
		c.Close()
		return nil, err
	}
	c.Close()
	dir := filepath.Join(e.home, homedir.Chain)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("no daemon is running and there is no chain at %s", dir)
	}
	r, err := chain.OpenReader(dir)
	if err != nil {
		return nil, err
	}
	return &chainAccess{reader: r}, nil
}

func (a *chainAccess) Close() {
	if a.c != nil {
		a.c.Close()
	}
	if a.reader != nil {
		a.reader.Close()
	}
}

// Each query asks the daemon when one runs and reads the chain otherwise.

func (a *chainAccess) status(ctx context.Context) (apitype.ChainStatus, error) {
	if a.c != nil {
		return a.c.ChainStatus(ctx)
	}
	return chainquery.GetStatus(a.reader)
}

func (a *chainAccess) keys(ctx context.Context) (apitype.ChainKeys, error) {
	if a.c != nil {
		return a.c.ChainKeys(ctx)
	}
	return chainquery.GetKeys(a.reader)
}

func (a *chainAccess) tail(ctx context.Context, n int, kind string) ([]apitype.ChainEvent, error) {
	if a.c != nil {
		return a.c.ChainEvents(ctx, apitype.ChainEventsQuery{N: n, Kind: kind})
	}
	return chainquery.Tail(a.reader, n, kind)
}

func (a *chainAccess) event(ctx context.Context, seq uint64) (apitype.ChainEvent, error) {
	if a.c != nil {
		return a.c.ChainEvent(ctx, seq)
	}
	return a.reader.Get(seq)
}

func (a *chainAccess) prove(ctx context.Context, seq uint64) (apitype.ChainProof, error) {
	if a.c != nil {
		return a.c.ChainProve(ctx, seq)
	}
	return chainquery.Prove(a.reader, seq)
}

func (a *chainAccess) consistency(ctx context.Context, oldSize, newSize uint64) (apitype.ChainConsistency, error) {
	if a.c != nil {
		return a.c.ChainConsistency(ctx, oldSize, newSize)
	}
	return chainquery.Consistent(a.reader, oldSize, newSize)
}

func chainStatus(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		a, err := e.openChain(ctx)
		if err != nil {
			return err
		}
		defer a.Close()
		st, err := a.status(ctx)
		if err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, st)
		}
		fmt.Fprintf(e.stdout, "length:       %d events\n", st.Length)
		if st.Head != nil {
			fmt.Fprintf(e.stdout, "head:         %s\n", st.Head)
		}
		fmt.Fprintf(e.stdout, "checkpoints:  %d\n", st.Checkpoints)
		if cp := st.LastCheckpoint; cp != nil {
			fmt.Fprintf(e.stdout, "last:         size %d, root %s, %s\n", cp.Size, cp.Root, time.Unix(0, cp.Timestamp).UTC().Format(time.RFC3339Nano))
		}
		fmt.Fprintf(e.stdout, "origin:       %s (chain %d)\nkeys:         Ed25519 %s…, ML-DSA-65 %s… (fingerprint %s)\n",
			st.Keys.Origin, st.Keys.ChainID, st.Keys.Ed25519[:16], st.Keys.MLDSA65[:16], st.Keys.Fingerprint)
		return nil
	}
}

func chainKeys(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		a, err := e.openChain(ctx)
		if err != nil {
			return err
		}
		defer a.Close()
		k, err := a.keys(ctx)
		if err != nil {
			return err
		}
		return cmdline.Reply(e.stdout, e.json, k, "origin:      %s\nchain id:    %d\nfingerprint: %s\ned25519:     %s\nml-dsa-65:   %s\n", k.Origin, k.ChainID, k.Fingerprint, k.Ed25519, k.MLDSA65)
	}
}

func printEvent(e *env, ev chain.Event) {
	if e.json {
		b, _ := json.Marshal(ev)
		fmt.Fprintln(e.stdout, string(b))
		return
	}
	fmt.Fprintf(e.stdout, "%6d  %s  %-10s %-24s %s\n", ev.Seq, time.Unix(0, ev.Timestamp).UTC().Format("2006-01-02T15:04:05.000Z"), ev.Source, ev.Kind, ev.Payload)
}

func chainTail(e *env, fs *flag.FlagSet) cmdline.Action {
	follow := fs.Bool("f", false, "keep printing new events (needs a running daemon)")
	kind := fs.String("kind", "", "only events of this kind")
	n := cmdline.Count(fs, "n", 20, "how many recent events")
	return func(ctx context.Context, _ []string) error {
		a, err := e.openChain(ctx)
		if err != nil {
			return err
		}
		defer a.Close()
		if *follow {
			if a.c == nil {
				return errors.New("chain tail -f needs a running daemon (start one with `weave boot`)")
			}
			err := a.c.ChainFollow(ctx, apitype.ChainEventsQuery{N: *n, Kind: *kind}, func(ev apitype.ChainEvent) error {
				printEvent(e, ev)
				return nil
			})
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		evs, err := a.tail(ctx, *n, *kind)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			printEvent(e, ev)
		}
		return nil
	}
}

func parseSeq(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, cmdline.Usagef("%q is not a sequence number", s)
	}
	return n, nil
}

func chainShow(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		seq, err := parseSeq(pos[0])
		if err != nil {
			return err
		}
		a, err := e.openChain(ctx)
		if err != nil {
			return err
		}
		defer a.Close()
		ev, err := a.event(ctx, seq)
		if err != nil {
			return err
		}
		return cmdline.PrintJSON(e.stdout, ev)
	}
}

// chainVerify checks the whole chain. With --export FILE it verifies an
// export; with a running daemon it verifies the daemon's export with this
// process's own verifier; otherwise it verifies the segment files.
func chainVerify(e *env, fs *flag.FlagSet) cmdline.Action {
	export := fs.String("export", "", "verify this export (JSON Lines) instead of the home's chain")
	return func(ctx context.Context, _ []string) error {
		var rep *chain.Report
		var err error
		switch {
		case *export != "":
			f, ferr := os.Open(*export)
			if ferr != nil {
				return ferr
			}
			defer f.Close()
			rep, err = chain.VerifyExport(f, chain.VerifyOptions{})
		default:
			a, aerr := e.openChain(ctx)
			if aerr != nil {
				return aerr
			}
			defer a.Close()
			if a.c != nil {
				rep, err = verifyFromDaemon(ctx, a.c)
			} else {
				a.reader.Close()
				rep, err = chain.Verify(ctx, filepath.Join(e.home, homedir.Chain), chain.VerifyOptions{})
			}
		}
		if err != nil {
			return err
		}
		if e.json {
			if perr := cmdline.PrintJSON(e.stdout, rep); perr != nil {
				return perr
			}
		} else {
			fmt.Fprintf(e.stdout, "verified %d events and %d checkpoints (payload hashes, event hashes, links, Merkle roots, Ed25519 and ML-DSA-65 signatures)\n", rep.Events, rep.Checkpoints)
			if rep.Uncovered > 0 {
				fmt.Fprintf(e.stdout, "%d trailing events are not yet under a checkpoint\n", rep.Uncovered)
			}
		}
		if !rep.OK() {
			return chainDamage(rep.Problem)
		}
		return nil
	}
}

// chainDamage words a verification problem as the daemon does when it
// meets the same damage ("chain: store corrupt: KIND at seq N (SEGMENT
// offset X): …"), so offline and online verification read the same.
func chainDamage(p *chain.Problem) error {
	return fmt.Errorf("chain: store corrupt: %s", strings.TrimPrefix(p.Error(), "chain: "))
}

// verifyFromDaemon streams the daemon's export through the local verifier.
func verifyFromDaemon(ctx context.Context, c *client.Client) (*chain.Report, error) {
	pr, pw := io.Pipe()
	var streamErr errBox
	go func() {
		err := c.ChainExport(ctx, pw, 0)
		streamErr.Store(err)
		pw.CloseWithError(err)
	}()
	rep, err := chain.VerifyExport(pr, chain.VerifyOptions{})
	pr.Close()
	// The daemon could not read its own chain: its error names the damage
	// precisely (the export stops there).
	var ae *client.APIError
	if errors.As(err, &ae) || (rep != nil && !rep.OK() && errors.As(streamErr.Load(), &ae)) {
		return nil, errors.New(ae.Message)
	}
	return rep, err
}

func chainExport(e *env, fs *flag.FlagSet) cmdline.Action {
	from := fs.Uint64("from", 0, "first event to export")
	out := fs.String("o", "", "write to FILE instead of stdout")
	return func(ctx context.Context, _ []string) error {
		w := e.stdout
		if *out != "" {
			f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		a, err := e.openChain(ctx)
		if err != nil {
			return err
		}
		defer a.Close()
		if a.c == nil {
			return a.reader.Export(ctx, w, *from)
		}
		return a.c.ChainExport(ctx, w, *from)
	}
}

func chainProve(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		seq, err := parseSeq(pos[0])
		if err != nil {
			return err
		}
		a, err := e.openChain(ctx)
		if err != nil {
			return err
		}
		defer a.Close()
		p, err := a.prove(ctx, seq)
		if err != nil {
			return err
		}
		// Check the proof here too, with this process's code, against the
		// chain's keys.
		keys, err := a.keys(ctx)
		if err != nil {
			return err
		}
		pub, err := chain.ParsePublicKeys(keys.Ed25519, keys.MLDSA65)
		if err != nil {
			return err
		}
		if err := chain.VerifyInclusion(pub, p.Checkpoint, p.Event.Hash, p.Proof); err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, p)
		}
		fmt.Fprintf(e.stdout, "event %d (%s) is included in the tree of size %d with root %s\nproof: %d hashes, %d bytes; checkpoint signatures (Ed25519, ML-DSA-65) verified\n",
			p.Event.Seq, p.Event.Hash, p.Checkpoint.Size, p.Checkpoint.Root, len(p.Proof.Hashes), p.ProofBytes)
		return nil
	}
}

func chainConsistency(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		oldSize, err := parseSeq(pos[0])
		if err != nil {
			return err
		}
		newSize, err := parseSeq(pos[1])
		if err != nil {
			return err
		}
		a, err := e.openChain(ctx)
		if err != nil {
			return err
		}
		defer a.Close()
		c, err := a.consistency(ctx, oldSize, newSize)
		if err != nil {
			return err
		}
		if err := chain.VerifyConsistencyProof(c.OldRoot, c.NewRoot, c.Proof); err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, c)
		}
		fmt.Fprintf(e.stdout, "the tree of size %d (root %s) is a prefix of the tree of size %d (root %s): proof of %d hashes verified\n",
			oldSize, c.OldRoot, newSize, c.NewRoot, len(c.Proof.Hashes))
		return nil
	}
}

// errBox holds an error set by one goroutine and read by another.
type errBox struct {
	mu  sync.Mutex
	err error
}

func (b *errBox) Store(err error) {
	b.mu.Lock()
	b.err = err
	b.mu.Unlock()
}

func (b *errBox) Load() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func chainWitnesses(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			ws, err := c.ChainWitnesses(ctx)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, ws)
			}
			rows := make([][]string, len(ws))
			for i, w := range ws {
				state := "consistent"
				if w.Forked {
					state = fmt.Sprintf("FORKED (%s; evidence: size %d, root %s)", w.Reason, w.EvidenceSize, w.EvidenceRoot)
				}
				rows[i] = []string{w.Node, strconv.FormatUint(w.Size, 10), w.Root, w.Signed.Format(time.RFC3339), strconv.Itoa(w.Witnessed), state}
			}
			return cmdline.Table(e.stdout, []string{"NODE", "SIZE", "ROOT", "SIGNED", "CHECKPOINTS", "STATE"}, rows)
		})
	}
}
