package wasmfuel

import (
	"context"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"
)

func FuzzInstrument(f *testing.F) {
	f.Add(sumModule())
	f.Add([]byte{})
	f.Add(append([]byte(nil), wasmHeader...))
	for _, expr := range [][]byte{
		{0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b},
		{0x41, 0x01, 0x04, 0x40, 0x01, 0x05, 0x01, 0x0b, 0x0b},
		{0xfc, 0x0b, 0x00, 0x0b},
		{0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1a, 0x0b},
		{0x02, 0x7f, 0x41, 0x00, 0x0b, 0x1a, 0x0b},
	} {
		b := newModule()
		typ := b.funcType(nil, nil)
		b.function(typ, "f", nil, expr...)
		f.Add(b.bytes())
	}
	ctx := context.Background()
	cfg := wazero.NewRuntimeConfigInterpreter()
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Instrument(data, Options{})
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrUnsupported", err)
			}
			if out != nil {
				t.Fatal("output returned with an error")
			}
			// wazero is not fed what Instrument refused: its decoder
			// pre-allocates from untrusted counts (see sections.go).
			return
		}
		rt := wazero.NewRuntimeWithConfig(ctx, cfg)
		defer rt.Close(ctx)
		orig, origErr := rt.CompileModule(ctx, data)
		if origErr != nil {
			return // invalid input: only "no panic" is required
		}
		_ = orig.Close(ctx)
		inst, err := rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("wazero rejects the instrumented module: %v", err)
		}
		_ = inst.Close(ctx)
	})
}
