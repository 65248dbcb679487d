//go:build unix

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/cmdline"
)

// TestClusterEndToEnd: three daemons, each a process with its own home
// and port on 127.0.0.1, form a cluster with weave cluster init, invite
// and join; a replayed invite is refused; a node killed with SIGKILL and
// one stopped with SIGSTOP are suspected, then declared dead, by the
// others; a removed node is refused.
func TestClusterEndToEnd(t *testing.T) {
	bin := buildWeave(t)
	dir := t.TempDir()
	nodes := make([]*cli, 3)
	ids := make([]string, 3)
	for i := range nodes {
		nodes[i] = &cli{t: t, bin: bin, home: filepath.Join(dir, "n"+strconv.Itoa(i))}
		n := nodes[i]
		n.ok("boot", "--detach")
		t.Cleanup(func() {
			if pid, err := daemonPID(n.home); err == nil {
				_ = syscall.Kill(pid, syscall.SIGCONT)
			}
			n.run("shutdown")
		})
		var st apitype.ClusterStatus
		n.jsonOut(&st, "cluster", "status")
		if st.InCluster {
			t.Fatalf("a new node is in a cluster: %+v", st)
		}
		ids[i] = st.NodeID
	}
	a, b, c := nodes[0], nodes[1], nodes[2]
	out := a.ok("cluster", "init", "lab", "--name", "a", "--listen", "127.0.0.1:0")
	if !strings.Contains(out, "cluster ") || !strings.Contains(out, ids[0]) {
		t.Fatalf("cluster init printed:\n%s", out)
	}
	a.fail(cmdline.ExitError, "already in a cluster", "cluster", "init", "again", "--listen", "127.0.0.1:0")
	for i, n := range []*cli{b, c} {
		token := strings.TrimSpace(a.ok("cluster", "invite", "--ttl", "10m"))
		if !strings.HasPrefix(token, "weft-invite-") {
			t.Fatalf("invite printed %q", token)
		}
		n.ok("cluster", "join", token, "--name", string(rune('b'+i)), "--listen", "127.0.0.1:0")
		if i == 0 {
			c.fail(cmdline.ExitError, "already used", "cluster", "join", token, "--listen", "127.0.0.1:0")
		}
	}
	c.fail(cmdline.ExitError, "bad invite token", "cluster", "join", "weft-invite-AAAA", "--listen", "127.0.0.1:0")

	peers := func(n *cli) map[string]apitype.ClusterPeer {
		var ps []apitype.ClusterPeer
		n.jsonOut(&ps, "cluster", "peers")
		m := map[string]apitype.ClusterPeer{}
		for _, p := range ps {
			m[p.NodeID] = p
		}
		return m
	}
	poll := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, n := range nodes {
		poll("every node alive everywhere", func() bool {
			ps := peers(n)
			return ps[ids[0]].State == "alive" && ps[ids[1]].State == "alive" && ps[ids[2]].State == "alive"
		})
	}
	table := a.ok("cluster", "peers")
	for _, want := range []string{"NODE", "ADDRESS", "STATE", "RTT", "LAST SEEN", "CHAIN", "alive", ids[1]} {
		if !strings.Contains(table, want) {
			t.Fatalf("cluster peers lacks %q:\n%s", want, table)
		}
	}

	// ps --cluster on a lists every member's processes, a node column
	// first; it cannot be drawn as a tree.
	c.ok("agent", "spawn", "only-on-c")
	if out := a.ok("ps", "--cluster"); !strings.Contains(out, "NODE") || !strings.Contains(out, "only-on-c") {
		t.Fatalf("ps --cluster on a:\n%s", out)
	}
	a.fail(cmdline.ExitUsage, "cannot be combined", "ps", "--cluster", "--tree")

	// An amendment made on b (a follower) commits through Raft and is in
	// force on every node; each witnesses the others' chains.
	rule := filepath.Join(dir, "rule.toml")
	if err := os.WriteFile(rule, []byte("[[rule]]\nid = \"cluster-wide\"\nbranch = \"executive\"\nseverity = \"advisory\"\n"+
		"outcome = \"warn\"\n[rule.when]\nactions = [\"nothing.here\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.ok("gov", "amend", "--file", rule)
	for _, n := range nodes {
		poll("the amendment in force on every node", func() bool { return strings.Contains(n.ok("gov", "rules"), "cluster-wide") })
	}
	if st := a.ok("cluster", "status"); !strings.Contains(st, "raft      leader") {
		t.Errorf("a's cluster status:\n%s", st)
	}

	// SIGKILL c, SIGSTOP b: a suspects, then buries, both.
	pidC, err := daemonPID(c.home)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pidC, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	pidB, err := daemonPID(b.home)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pidB, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	poll("a declares the killed and the stopped node dead", func() bool {
		ps := peers(a)
		return ps[ids[1]].State == "dead" && ps[ids[2]].State == "dead"
	})
	if err := syscall.Kill(pidB, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(a.ok("chain", "tail", "-n", "500", "--json")), "\n") {
		var e apitype.ChainEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("chain tail --json: %v: %s", err, line)
		}
		seen[e.Kind] = true
	}
	for _, k := range []string{"cluster.init", "cluster.invite", "cluster.admit", "cluster.member", "mesh.refusal"} {
		if !seen[k] {
			t.Errorf("a's chain has no %s event", k)
		}
	}

	// a removes c (dead or not, it is refused from now on).
	a.ok("cluster", "remove", ids[2], "--reason", "crashed")
	if st := peers(a)[ids[2]].State; st != "removed" {
		t.Errorf("a shows the removed node as %s", st)
	}
	a.fail(cmdline.ExitError, "removed", "cluster", "remove", ids[2])
}

func daemonPID(home string) (int, error) {
	b, err := os.ReadFile(filepath.Join(home, "weave.pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}
