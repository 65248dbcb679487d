package governance

import (
	_ "embed"
	"fmt"
)

// DefaultConstitutionText is the documented constitution.toml the daemon
// writes on first boot.
//
//go:embed default_constitution.toml
var DefaultConstitutionText []byte

// DefaultConstitutionFile is the file name problems in the default text are
// reported against.
const DefaultConstitutionFile = "constitution.toml"

// DefaultConstitution parses the embedded default constitution.
func DefaultConstitution() (*Constitution, error) {
	c, err := Parse(DefaultConstitutionFile, DefaultConstitutionText)
	if err != nil {
		return nil, fmt.Errorf("governance: default constitution: %w", err)
	}
	return c, nil
}
