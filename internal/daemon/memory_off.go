//go:build nomemory

package daemon

import (
	"context"
	"os"
	"path/filepath"

	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/layers"
	"github.com/weftos/weftos/internal/localapi"
)

// openMemory opens nothing: the memory is compiled out (nomemory). A
// store a full build left in the home stays there untouched; the boot
// says so, since agents recall nothing from it here.
func (d *Daemon) openMemory(context.Context) error {
	p := filepath.Join(d.home, homedir.Memory)
	if _, err := os.Stat(p); err == nil {
		d.log.Warn("this binary has no memory layer: the memory store is left untouched and agents recall nothing",
			"store", p, "err", layers.NotBuilt(layers.Memory))
	}
	return nil
}

// memoryStore stands for the memory this binary does not have; the
// daemon's is nil.
type memoryStore struct{}

func (d *Daemon) closeMemory(context.Context) error { return nil }

func memoryCode(error) string { return "" }

func (d *Daemon) memoryRoutes() []localapi.Route { return d.notBuiltRoutes(layers.Memory) }
