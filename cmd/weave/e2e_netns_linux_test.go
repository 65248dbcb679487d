//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/apitype"
)

// TestClusterNetns: two daemons in separate network namespaces joined by
// a veth pair form a cluster over 10.231.x addresses; when the link is
// cut (the veth set down) each declares the other dead, and when it is
// restored they see each other alive again. It needs root and ip(8).
func TestClusterNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: network namespaces need root (run as root where `ip netns` is available)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipped: ip(8) not found; network namespaces cannot be made here")
	}
	suffix := fmt.Sprint(os.Getpid() % 100000)
	ns := []string{"wft" + suffix + "a", "wft" + suffix + "b"}
	veth := []string{"wv" + suffix + "a", "wv" + suffix + "b"}
	addr := []string{"10.231.0.1", "10.231.0.2"}
	ip := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := ip("netns", "add", ns[0]); err != nil {
		t.Skipf("skipped: cannot create a network namespace here: %v", err)
	}
	t.Cleanup(func() { _ = ip("netns", "del", ns[0]) })
	if err := ip("netns", "add", ns[1]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ip("netns", "del", ns[1]) })
	for _, step := range [][]string{
		{"link", "add", veth[0], "type", "veth", "peer", "name", veth[1]},
		{"link", "set", veth[0], "netns", ns[0]}, {"link", "set", veth[1], "netns", ns[1]},
		{"-n", ns[0], "addr", "add", addr[0] + "/24", "dev", veth[0]}, {"-n", ns[1], "addr", "add", addr[1] + "/24", "dev", veth[1]},
		{"-n", ns[0], "link", "set", veth[0], "up"}, {"-n", ns[1], "link", "set", veth[1], "up"},
		{"-n", ns[0], "link", "set", "lo", "up"}, {"-n", ns[1], "link", "set", "lo", "up"},
	} {
		if err := ip(step...); err != nil {
			t.Fatal(err)
		}
	}
	bin := buildWeave(t)
	dir := t.TempDir()
	nodes := make([]*cli, 2)
	ids := make([]string, 2)
	for i := range nodes {
		n := &cli{t: t, bin: bin, home: filepath.Join(dir, ns[i])}
		nodes[i] = n
		if out, err := exec.Command("ip", "netns", "exec", ns[i], bin, "boot", "--detach", "--home", n.home).CombinedOutput(); err != nil {
			t.Fatalf("boot in %s: %v: %s", ns[i], err, out)
		}
		t.Cleanup(func() { n.run("shutdown") })
		var st apitype.ClusterStatus
		n.jsonOut(&st, "cluster", "status")
		ids[i] = st.NodeID
	}
	a, b := nodes[0], nodes[1]
	a.ok("cluster", "init", "netns", "--listen", addr[0]+":7787")
	token := strings.TrimSpace(a.ok("cluster", "invite"))
	b.ok("cluster", "join", token, "--listen", addr[1]+":7787")
	state := func(n *cli, id string) string {
		var ps []apitype.ClusterPeer
		out := n.ok("cluster", "peers", "--json")
		if err := json.Unmarshal([]byte(out), &ps); err != nil {
			t.Fatalf("peers: %v", err)
		}
		for _, p := range ps {
			if p.NodeID == id {
				return p.State
			}
		}
		return "absent"
	}
	poll := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	poll("both alive across the namespaces", func() bool { return state(a, ids[1]) == "alive" && state(b, ids[0]) == "alive" })
	if err := ip("-n", ns[0], "link", "set", veth[0], "down"); err != nil {
		t.Fatal(err)
	}
	poll("each declares the other dead once the link is cut", func() bool {
		return state(a, ids[1]) == "dead" && state(b, ids[0]) == "dead"
	})
	if err := ip("-n", ns[0], "link", "set", veth[0], "up"); err != nil {
		t.Fatal(err)
	}
	poll("alive again once the link is back", func() bool { return state(a, ids[1]) == "alive" && state(b, ids[0]) == "alive" })
}
