// Command wasirun runs a WASI preview 1 command module under wazero, for
// the test that proves which weave commands work on wasip1. Each line of
// the script file is one command line (arguments separated by tabs); the
// module's output follows a "=== ARGS" header and ends with "=== exit N".
//
//	wasirun -module weave.wasm -mount HOSTDIR:/home -cache DIR -script FILE
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

func main() {
	module := flag.String("module", "", "the .wasm command module")
	mount := flag.String("mount", "", "HOSTDIR:GUESTDIR")
	cache := flag.String("cache", "", "compilation cache directory")
	script := flag.String("script", "", "file of command lines (tab-separated arguments)")
	flag.Parse()
	if err := run(*module, *mount, *cache, *script); err != nil {
		fmt.Fprintln(os.Stderr, "wasirun:", err)
		os.Exit(1)
	}
}

func run(module, mount, cache, script string) error {
	ctx := context.Background()
	cfg := wazero.NewRuntimeConfig()
	if cache != "" {
		cc, err := wazero.NewCompilationCacheWithDir(cache)
		if err != nil {
			return err
		}
		cfg = cfg.WithCompilationCache(cc)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	bin, err := os.ReadFile(module)
	if err != nil {
		return err
	}
	cm, err := rt.CompileModule(ctx, bin)
	if err != nil {
		return err
	}
	host, guest, ok := strings.Cut(mount, ":")
	if !ok {
		return errors.New("-mount wants HOSTDIR:GUESTDIR")
	}
	f, err := os.Open(script)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		args := strings.Split(sc.Text(), "\t")
		fmt.Printf("=== %s\n", strings.Join(args, " "))
		mc := wazero.NewModuleConfig().WithName("").WithArgs(args...).WithStdout(os.Stdout).WithStderr(os.Stdout).
			WithFSConfig(wazero.NewFSConfig().WithDirMount(host, guest)).
			WithSysWalltime().WithSysNanotime().WithRandSource(rand.Reader)
		code := 0
		if _, err := rt.InstantiateModule(ctx, cm, mc); err != nil {
			var ee *sys.ExitError
			if !errors.As(err, &ee) {
				return err
			}
			code = int(ee.ExitCode())
		}
		fmt.Printf("=== exit %d\n", code)
	}
	return sc.Err()
}
