package wasmfuel

import (
	"context"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// modBuilder assembles small WebAssembly modules by hand for tests.
type modBuilder struct {
	types   [][]byte // encoded func types
	imports [][]byte
	funcs   []uint32 // type index per defined function
	globals [][]byte
	exports [][]byte
	start   int // -1: none
	codes   [][]byte
	customs [][2]string
}

func newModule() *modBuilder { return &modBuilder{start: -1} }

func vec(items [][]byte) []byte {
	out := appendU32(nil, uint32(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

func name(s string) []byte { return append(appendU32(nil, uint32(len(s))), s...) }

// funcType adds a type with the given param and result value types.
func (b *modBuilder) funcType(params, results []byte) uint32 {
	t := []byte{0x60}
	t = append(appendU32(t, uint32(len(params))), params...)
	t = append(appendU32(t, uint32(len(results))), results...)
	b.types = append(b.types, t)
	return uint32(len(b.types) - 1)
}

func (b *modBuilder) importFunc(mod, field string, typ uint32) {
	e := append(name(mod), name(field)...)
	e = append(e, 0x00)
	b.imports = append(b.imports, appendU32(e, typ))
}

func (b *modBuilder) importGlobal(mod, field string, valType byte, mutable bool) {
	e := append(name(mod), name(field)...)
	mut := byte(0)
	if mutable {
		mut = 1
	}
	b.imports = append(b.imports, append(e, 0x03, valType, mut))
}

// function adds a defined function with the given locals (groups of
// count,type pairs, already encoded) and expression (must end with 0x0b),
// exporting it under exportName if non-empty.
func (b *modBuilder) function(typ uint32, exportName string, locals [][2]byte, expr ...byte) {
	b.funcs = append(b.funcs, typ)
	body := appendU32(nil, uint32(len(locals)))
	for _, l := range locals {
		body = append(body, l[0], l[1])
	}
	body = append(body, expr...)
	b.codes = append(b.codes, append(appendU32(nil, uint32(len(body))), body...))
	if exportName != "" {
		idx := uint32(len(b.funcs) - 1)
		b.exports = append(b.exports, append(append(name(exportName), 0x00), appendU32(nil, idx+b.importedFuncs())...))
	}
}

func (b *modBuilder) importedFuncs() uint32 {
	var n uint32
	for _, im := range b.imports {
		r := &reader{b: im}
		_, _ = r.name()
		_, _ = r.name()
		if k, _ := r.byte(); k == 0x00 {
			n++
		}
	}
	return n
}

func (b *modBuilder) global(valType byte, mutable bool, init ...byte) {
	mut := byte(0)
	if mutable {
		mut = 1
	}
	b.globals = append(b.globals, append([]byte{valType, mut}, init...))
}

func (b *modBuilder) exportGlobal(n string, idx uint32) {
	b.exports = append(b.exports, append(append(name(n), 0x03), appendU32(nil, idx)...))
}

func (b *modBuilder) bytes() []byte {
	out := append([]byte(nil), wasmHeader...)
	add := func(id byte, items [][]byte) {
		if len(items) > 0 {
			out = appendSection(out, id, vec(items))
		}
	}
	add(1, b.types)
	add(2, b.imports)
	var fs [][]byte
	for _, f := range b.funcs {
		fs = append(fs, appendU32(nil, f))
	}
	add(3, fs)
	add(6, b.globals)
	add(7, b.exports)
	if b.start >= 0 {
		out = appendSection(out, 8, appendU32(nil, uint32(b.start)))
	}
	add(10, b.codes)
	for _, c := range b.customs {
		out = appendSection(out, 0, append(name(c[0]), c[1]...))
	}
	return out
}

const (
	i32 = 0x7f
	i64 = 0x7e
)

// run instruments wasm, instantiates it in wazero, sets the budget and
// calls fn; it returns the results, the fuel used and the call error.
func run(t testing.TB, wasm []byte, budget int64, fn string, args ...uint64) ([]uint64, int64, error) {
	t.Helper()
	inst, err := Instrument(wasm, Options{})
	if err != nil {
		t.Fatalf("Instrument: %v", err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	if _, err := rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithFunc(func(x int32) int32 { return x * 2 }).Export("double").
		Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Instantiate(ctx, inst)
	if err != nil {
		t.Fatalf("instantiate instrumented module: %v", err)
	}
	g, ok := mod.ExportedGlobal(DefaultExportName).(api.MutableGlobal)
	if !ok {
		t.Fatalf("fuel global not exported as mutable")
	}
	g.Set(uint64(budget))
	res, callErr := mod.ExportedFunction(fn).Call(ctx, args...)
	left := int64(g.Get())
	return res, budget - left, callErr
}

func mustErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}
