package layers

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestNotBuiltExplainsItself(t *testing.T) {
	for _, name := range all {
		err := fmt.Errorf("daemon: %w", NotBuilt(name))
		if !errors.Is(err, ErrNotBuilt) {
			t.Errorf("%s: errors.Is(ErrNotBuilt) is false", name)
		}
		tag := "no" + name
		if by := OffBy(name); by != "" {
			tag = by
		}
		want := fmt.Sprintf("daemon: layer %q is not built into this binary (built with -tags %s)", name, tag)
		if err.Error() != want {
			t.Errorf("%s: %q, want %q", name, err, want)
		}
		var nb *NotBuiltError
		if !errors.As(err, &nb) || nb.Layer != name {
			t.Errorf("%s: errors.As gives %v", name, nb)
		}
	}
}

func TestAllAgreesWithMissing(t *testing.T) {
	var missing []string
	for _, l := range All() {
		if l.Tag != "no"+l.Name {
			t.Errorf("%s: tag %q", l.Name, l.Tag)
		}
		if l.Built != Built(l.Name) {
			t.Errorf("%s: All says built=%v, Built says %v", l.Name, l.Built, Built(l.Name))
		}
		if !l.Built {
			missing = append(missing, l.Name)
		}
	}
	if !slices.Equal(missing, Missing()) {
		t.Errorf("Missing() = %v, All() says %v", Missing(), missing)
	}
	for _, l := range All() {
		if by := OffBy(l.Name); (by == "") != l.Built {
			t.Errorf("%s: built=%v but OffBy=%q", l.Name, l.Built, by)
		}
	}
	if Built("kernel") {
		t.Error("an unknown layer is reported built")
	}
}

// TestNollmImplies: nollm takes the layers that only talk to agents with
// it, and names itself as the tag that compiled them out unless their own
// tag did.
func TestNollmImplies(t *testing.T) {
	if Built(LLM) {
		if OffBy(LLM) != "" {
			t.Errorf("llm built but OffBy = %q", OffBy(LLM))
		}
		return
	}
	for _, name := range []string{LLM, Channels, MCP} {
		if Built(name) {
			t.Errorf("nollm binary has %s built", name)
		}
		if by := OffBy(name); by != "nollm" && by != Tag(name) {
			t.Errorf("%s compiled out by %q", name, by)
		}
	}
	if got := NotBuilt(LLM).Error(); got != `layer "llm" is not built into this binary (built with -tags nollm)` {
		t.Errorf("NotBuilt(llm) = %q", got)
	}
}
