package toolpkg_test

import (
	"errors"
	"fmt"

	"github.com/weftos/weftos/internal/toolpkg"
)

func ExampleParseManifest() {
	src := []byte(`name = "echo"
version = "0.1.0"
description = "Returns its input"
module = "tool.wasm"
[limits]
memory_mib = 16
fuel = 10_000_000
timeout_ms = 2000
[grants]
hosts = ["api.example.com"]
[input]
type = "object"
`)
	m, err := toolpkg.ParseManifest("tool.toml", src)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Name, m.Version, m.Limits.Fuel, m.Grants.Hosts)

	// Errors name the file, the line and the field.
	_, err = toolpkg.ParseManifest("tool.toml", append(src, "[grants.extra]\n"...))
	fmt.Println(err, errors.Is(err, toolpkg.ErrManifest))
	// Output:
	// echo 0.1.0 10000000 [api.example.com]
	// tool.toml:13: grants.extra: unknown key true
}
