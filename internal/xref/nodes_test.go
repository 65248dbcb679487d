package xref

import "testing"

// TestWellKnownNodes pins the ids of sessions and memory records: they
// are in every causal graph and cross-reference index, so a change would
// change every graph hash.
func TestWellKnownNodes(t *testing.T) {
	for _, tc := range []struct {
		node      func(string) (Node, error)
		arg       string
		typ, key  string
		wantIDHex string
	}{
		{MemoryNode, "abc", "memory.record", "memory:abc", "d5d834e92048e92d6503bb096e86c260fe5bc119d42d883cc8a2b6a079721582"},
		{SessionNode, "s1", "session", "session:s1", "a86068f5b0d744cc5cf1b87a399590c8de242b0acae0d9ce706d402dddc0aa40"},
	} {
		n, err := tc.node(tc.arg)
		if err != nil || n.ID.String() != tc.wantIDHex || n.Type != tc.typ || n.Key != tc.key {
			t.Errorf("%s %q: %+v %v, want id %s", tc.typ, tc.arg, n, err, tc.wantIDHex)
		}
	}
}
