package wasmfuel

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// sumModule exports sum(n) = n + (n-1) + … + 1 computed in a loop.
func sumModule() []byte {
	b := newModule()
	t := b.funcType([]byte{i32}, []byte{i32})
	b.function(t, "sum", [][2]byte{{1, i32}},
		0x02, 0x40, // block
		0x03, 0x40, // loop
		0x20, 0x00, // local.get 0        1
		0x45,       // i32.eqz            2
		0x0d, 0x01, // br_if 1            3
		0x20, 0x01, // local.get 1        4
		0x20, 0x00, // local.get 0        5
		0x6a,       // i32.add            6
		0x21, 0x01, // local.set 1        7
		0x20, 0x00, // local.get 0        8
		0x41, 0x01, // i32.const 1        9
		0x6b,       // i32.sub            10
		0x21, 0x00, // local.set 0        11
		0x0c, 0x00, // br 0               12
		0x0b,       // end loop
		0x0b,       // end block
		0x20, 0x01, // local.get 1        1
		0x0b,
	)
	return b.bytes()
}

func TestFuelCostModel(t *testing.T) {
	tests := []struct {
		name     string
		wasm     []byte
		fn       string
		args     []uint64
		wantFuel int64
		wantRes  uint64
	}{
		{
			name: "straight line",
			wasm: func() []byte {
				b := newModule()
				t := b.funcType(nil, []byte{i32})
				b.function(t, "f", nil, 0x41, 0x01, 0x41, 0x02, 0x6a, 0x0b)
				return b.bytes()
			}(),
			fn: "f", wantFuel: 3, wantRes: 3,
		},
		// 12 per loop iteration (n+1 iterations, the last one exits at
		// br_if but is charged in full) plus 1 after the block.
		{name: "loop n=0", wasm: sumModule(), fn: "sum", args: []uint64{0}, wantFuel: 13, wantRes: 0},
		{name: "loop n=10", wasm: sumModule(), fn: "sum", args: []uint64{10}, wantFuel: 12*11 + 1, wantRes: 55},
		{
			// if/else: each arm is its own region.
			name: "if else",
			wasm: func() []byte {
				b := newModule()
				t := b.funcType([]byte{i32}, []byte{i32})
				b.function(t, "f", nil,
					0x20, 0x00, // local.get 0       entry: 1
					0x04, i32, // if (result i32)    entry: 2
					0x41, 0x07, 0x41, 0x01, 0x6a, // then: 3
					0x05,       // else
					0x41, 0x09, // else: 1
					0x0b,             // end
					0x41, 0x02, 0x6c, // after: 2 (i32.mul)
					0x0b,
				)
				return b.bytes()
			}(),
			fn: "f", args: []uint64{1}, wantFuel: 2 + 3 + 2, wantRes: 16,
		},
		{
			name: "call into import and defined function",
			wasm: func() []byte {
				b := newModule()
				t := b.funcType([]byte{i32}, []byte{i32})
				b.importFunc("env", "double", t)
				b.function(t, "", nil, 0x20, 0x00, 0x10, 0x00, 0x0b)                    // 2
				b.function(t, "f", nil, 0x20, 0x00, 0x10, 0x01, 0x41, 0x01, 0x6a, 0x0b) // 4
				return b.bytes()
			}(),
			fn: "f", args: []uint64{5}, wantFuel: 6, wantRes: 11,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < 2; i++ { // deterministic across runs
				res, used, err := run(t, tt.wasm, 1000, tt.fn, tt.args...)
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				if used != tt.wantFuel {
					t.Errorf("fuel used %d, want %d", used, tt.wantFuel)
				}
				if len(res) != 1 || res[0] != tt.wantRes {
					t.Errorf("result %v, want %d", res, tt.wantRes)
				}
			}
		})
	}
}

func TestInfiniteLoopTrapsAtBudget(t *testing.T) {
	b := newModule()
	typ := b.funcType(nil, nil)
	b.function(typ, "spin", nil, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b) // loop br 0 end
	wasm := b.bytes()
	for _, budget := range []int64{0, 1, 1000, 123457} {
		_, used, err := run(t, wasm, budget, "spin")
		if err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("budget %d: err %v, want unreachable trap", budget, err)
		}
		// Each iteration costs 1 (the br); the check fires once the counter
		// goes negative, i.e. after budget+1 charges.
		if used != budget+1 {
			t.Errorf("budget %d: used %d, want %d", budget, used, budget+1)
		}
	}
}

func TestRecursionTraps(t *testing.T) {
	b := newModule()
	typ := b.funcType(nil, nil)
	b.function(typ, "rec", nil, 0x10, 0x00, 0x0b) // call 0
	_, used, err := run(t, b.bytes(), 50, "rec")
	if err == nil {
		t.Fatal("recursion finished, want trap")
	}
	if used != 51 {
		t.Errorf("used %d, want 51", used)
	}
}

func TestImportedGlobalsKeepIndices(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	a := newModule()
	a.global(i64, false, 0x42, 0x07, 0x0b) // 7
	a.exportGlobal("g", 0)
	if _, err := rt.InstantiateWithConfig(ctx, a.bytes(), wazero.NewModuleConfig().WithName("provider")); err != nil {
		t.Fatal(err)
	}
	b := newModule()
	typ := b.funcType(nil, []byte{i64})
	b.importGlobal("provider", "g", i64, false)
	b.global(i64, true, 0x42, 0x2a, 0x0b) // global 1 = 42
	b.function(typ, "get0", nil, 0x23, 0x00, 0x0b)
	b.function(typ, "get1", nil, 0x23, 0x01, 0x0b)
	b.exportGlobal("mine", 1)
	inst, err := Instrument(b.bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Instantiate(ctx, inst)
	if err != nil {
		t.Fatal(err)
	}
	mod.ExportedGlobal(DefaultExportName).(interface{ Set(uint64) }).Set(100)
	for fn, want := range map[string]uint64{"get0": 7, "get1": 42} {
		res, err := mod.ExportedFunction(fn).Call(ctx)
		if err != nil || res[0] != want {
			t.Errorf("%s = %v, %v; want %d", fn, res, err, want)
		}
	}
	if got := mod.ExportedGlobal("mine").Get(); got != 42 {
		t.Errorf("existing export moved: %d", got)
	}
	if got := mod.ExportedGlobal(DefaultExportName).Get(); got != 98 {
		t.Errorf("fuel left %d, want 98", got)
	}
}

func TestErrors(t *testing.T) {
	valid := sumModule()
	startMod := func() []byte {
		b := newModule()
		typ := b.funcType(nil, nil)
		b.function(typ, "", nil, 0x0b)
		b.start = 0
		return b.bytes()
	}()
	clash := func() []byte {
		b := newModule()
		typ := b.funcType(nil, nil)
		b.function(typ, DefaultExportName, nil, 0x0b)
		return b.bytes()
	}()
	body := func(expr ...byte) []byte {
		b := newModule()
		typ := b.funcType(nil, nil)
		b.function(typ, "f", nil, expr...)
		return b.bytes()
	}
	tests := []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"empty", nil, ErrMalformed, "bad magic"},
		{"not wasm", []byte("#!/bin/sh\necho hi\n"), ErrMalformed, "bad magic"},
		{"version 2", append([]byte("\x00asm"), 2, 0, 0, 0), ErrUnsupported, "version"},
		{"truncated", valid[:len(valid)-3], ErrMalformed, "exceeds remaining"},
		{"start section", startMod, ErrUnsupported, "start section"},
		{"export clash", clash, ErrUnsupported, "already exports"},
		{"unknown opcode", body(0xff, 0x0b), ErrUnsupported, "unknown opcode"},
		{"atomics", body(0xfe, 0x00, 0x0b), ErrUnsupported, "threads"},
		{"exceptions", body(0x06, 0x40, 0x0b, 0x0b), ErrUnsupported, "exception"},
		{"else without if", body(0x05, 0x0b), ErrMalformed, "else without"},
		{"missing end", body(0x01), ErrMalformed, "without end"},
		{"trailing after end", body(0x0b, 0x01), ErrMalformed, "trailing"},
		{"bad simd", body(0xfd, 0x9a, 0x01, 0x0b), ErrUnsupported, "SIMD"},
		{"bad fc", body(0xfc, 0x20, 0x0b), ErrUnsupported, "0xfc"},
		{"section order", append(append([]byte(nil), wasmHeader...), 3, 1, 0, 1, 1, 0), ErrMalformed, "out of order"},
		{"overlong leb", append(append([]byte(nil), wasmHeader...), 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00), ErrMalformed, "LEB128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Instrument(tt.in, Options{})
			if out != nil {
				t.Errorf("got output on error")
			}
			mustErr(t, err, tt.want)
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

func TestStartAllowed(t *testing.T) {
	b := newModule()
	typ := b.funcType(nil, nil)
	b.function(typ, "", nil, 0x41, 0x00, 0x1a, 0x0b) // i32.const 0; drop
	b.start = 0
	inst, err := Instrument(b.bytes(), Options{AllowStart: true, InitialFuel: 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, inst)
	if err != nil {
		t.Fatalf("start with budget: %v", err)
	}
	if got := int64(mod.ExportedGlobal(DefaultExportName).Get()); got != 8 {
		t.Errorf("fuel left %d, want 8", got)
	}
}

func TestCustomSections(t *testing.T) {
	b := newModule()
	typ := b.funcType(nil, nil)
	b.function(typ, "f", nil, 0x0b)
	b.customs = [][2]string{{"name", "\x00\x02\x01x"}, {".debug_info", "dwarf"}, {"producers", "p"}, {"sourceMappingURL", "u"}}
	out, err := Instrument(b.bytes(), Options{ExportName: "fuel"})
	if err != nil {
		t.Fatal(err)
	}
	for _, keep := range []string{"producers", "name"} {
		if !bytes.Contains(out, []byte(keep)) {
			t.Errorf("custom section %q dropped", keep)
		}
	}
	for _, drop := range []string{".debug_info", "sourceMappingURL"} {
		if bytes.Contains(out, []byte(drop)) {
			t.Errorf("custom section %q kept", drop)
		}
	}
	if !bytes.Contains(out, []byte("fuel")) {
		t.Error("custom export name missing")
	}
}

func TestInstrumentDoesNotModifyInput(t *testing.T) {
	in := sumModule()
	cp := append([]byte(nil), in...)
	if _, err := Instrument(in, Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(in, cp) {
		t.Fatal("input modified")
	}
}

func TestLEB128(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, 64, -64, -65, 1 << 40, -(1 << 40), 1<<63 - 1, -1 << 63} {
		r := &reader{b: appendS64(nil, v)}
		got, err := r.sleb(64)
		if err != nil || got != v || !r.eof() {
			t.Errorf("s64 %d: got %d, %v", v, got, err)
		}
	}
	for _, v := range []uint32{0, 1, 127, 128, 1<<32 - 1} {
		r := &reader{b: appendU32(nil, v)}
		got, err := r.u32()
		if err != nil || got != v || !r.eof() {
			t.Errorf("u32 %d: got %d, %v", v, got, err)
		}
	}
	bad := [][]byte{{0x80}, {0xff, 0xff, 0xff, 0xff, 0x1f}, {0x80, 0x80, 0x80, 0x80, 0x80, 0x00}}
	for _, b := range bad {
		r := &reader{b: b}
		if _, err := r.u32(); err == nil {
			t.Errorf("u32 % x: no error", b)
		}
	}
	// s32: 0x7f in the 5th byte is a valid -ve sign extension, 0x70 is not.
	if _, err := (&reader{b: []byte{0x80, 0x80, 0x80, 0x80, 0x78}}).sleb(32); err != nil {
		t.Errorf("min s32: %v", err)
	}
	if _, err := (&reader{b: []byte{0x80, 0x80, 0x80, 0x80, 0x70}}).sleb(32); err == nil {
		t.Error("s32 overflow accepted")
	}
}

// TestAllocationBombsRefused feeds tiny modules whose vector counts claim
// huge sizes; wazero would pre-allocate them, Instrument must refuse them.
func TestAllocationBombsRefused(t *testing.T) {
	hdr := func(parts ...[]byte) []byte {
		out := append([]byte(nil), wasmHeader...)
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	sec := func(id byte, payload ...byte) []byte {
		return append(append([]byte{id}, appendU32(nil, uint32(len(payload)))...), payload...)
	}
	huge := appendU32(nil, 1<<28)
	typeSec := sec(1, 0x01, 0x60, 0x00, 0x00)
	funcSec := sec(3, 0x01, 0x00)
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"export count", hdr(sec(7, append(huge, 0x00)...)), ErrMalformed},
		{"data count", hdr(sec(11, append(huge, 0x01, 0x00)...)), ErrMalformed},
		{"data segment size", hdr(sec(11, append([]byte{0x01, 0x01}, huge...)...)), ErrMalformed},
		{"element items", hdr(sec(9, append([]byte{0x01, 0x01, 0x00}, huge...)...)), ErrMalformed},
		{"locals", hdr(typeSec, funcSec, sec(10, append(append([]byte{0x01, 0x08, 0x01}, appendU32(nil, 1<<31)...), 0x7f, 0x0b)...)), ErrUnsupported},
		{"name map", hdr(sec(0, append(append(name("name"), 0x01, 0x05), huge...)...)), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Instrument(tt.in, Options{})
			mustErr(t, err, tt.want)
		})
	}
}
