package wasmfuel_test

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/weftos/weftos/internal/wasmfuel"
)

// A module exporting "spin", an infinite loop: (loop (br 0)).
var spinModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type () -> ()
	0x03, 0x02, 0x01, 0x00, // one function of type 0
	0x07, 0x08, 0x01, 0x04, 's', 'p', 'i', 'n', 0x00, 0x00, // export "spin"
	0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, // loop br 0 end end
}

func ExampleInstrument() {
	metered, err := wasmfuel.Instrument(spinModule, wasmfuel.Options{})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, metered)
	if err != nil {
		panic(err)
	}
	fuel := mod.ExportedGlobal(wasmfuel.DefaultExportName).(api.MutableGlobal)
	const budget = 1000
	fuel.Set(budget)
	_, err = mod.ExportedFunction("spin").Call(ctx)
	left := int64(fuel.Get())
	fmt.Println("trapped:", err != nil)
	fmt.Println("exhausted:", left < 0)
	fmt.Println("fuel used:", budget-left)
	// Output:
	// trapped: true
	// exhausted: true
	// fuel used: 1001
}
