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
		want := fmt.Sprintf("daemon: layer %q is not built into this binary (built with -tags no%s)", name, name)
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
	if Built("kernel") {
		t.Error("an unknown layer is reported built")
	}
}
