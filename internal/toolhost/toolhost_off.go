//go:build nosandbox

package toolhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/weftos/weftos/internal/layers"
)

// Host is the tool host of a binary without the WASM sandbox (nosandbox):
// no tool can be installed or run, and a home that has tools installed is
// refused (New).
type Host struct{}

// New refuses a home with installed tools — they would silently stop
// being offered to agents — and otherwise returns a host that installs
// and runs nothing.
func New(_ context.Context, opts Options) (*Host, error) {
	entries, err := os.ReadDir(filepath.Join(opts.Home, Dir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("toolhost: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			return nil, fmt.Errorf("toolhost: WASM tools are installed in %s (%s): %w",
				filepath.Join(opts.Home, Dir), e.Name(), layers.NotBuilt(layers.Sandbox))
		}
	}
	return &Host{}, nil
}

func (h *Host) Close(context.Context) error { return nil }

// Install refuses: there is no sandbox to compile the module for.
func (h *Host) Install(context.Context, string) (InstalledTool, error) {
	return InstalledTool{}, layers.NotBuilt(layers.Sandbox)
}

// Record: no tool is installed.
func (h *Host) Record(name string) (InstalledTool, error) {
	return InstalledTool{}, fmt.Errorf("%w: %q: %w", ErrUnknownTool, name, layers.NotBuilt(layers.Sandbox))
}

func (h *Host) Load(name string) (InstalledTool, []byte, error) {
	_, err := h.Record(name)
	return InstalledTool{}, nil, err
}

// List is empty: New refused a home with tools installed.
func (h *Host) List() ([]InstalledTool, error) { return nil, nil }

func (h *Host) Remove(_ context.Context, name string) error {
	_, err := h.Record(name)
	return err
}

func (h *Host) Run(_ context.Context, _ Caller, name string, _ json.RawMessage) (RunResult, error) {
	_, err := h.Record(name)
	return RunResult{}, err
}
