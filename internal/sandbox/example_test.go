package sandbox_test

import (
	"context"
	"fmt"
	"time"

	"github.com/weftos/weftos/internal/sandbox"
)

// helloWasm is a hand-assembled WASI command that writes "hello\n" to
// stdout with fd_write.
var helloWasm = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	// types: (i32 i32 i32 i32) -> i32, () -> ()
	0x01, 0x0c, 0x02, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x00,
	// import wasi_snapshot_preview1.fd_write
	0x02, 0x23, 0x01, 0x16, 'w', 'a', 's', 'i', '_', 's', 'n', 'a', 'p', 's', 'h', 'o', 't', '_',
	'p', 'r', 'e', 'v', 'i', 'e', 'w', '1', 0x08, 'f', 'd', '_', 'w', 'r', 'i', 't', 'e', 0x00, 0x00,
	0x03, 0x02, 0x01, 0x01, // one function of type 1
	0x05, 0x03, 0x01, 0x00, 0x01, // memory: 1 page
	0x07, 0x13, 0x02, 0x06, '_', 's', 't', 'a', 'r', 't', 0x00, 0x01,
	0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00,
	// _start: fd_write(1, iovs=16, 1, nwritten=32); drop
	0x0a, 0x0f, 0x01, 0x0d, 0x00, 0x41, 0x01, 0x41, 0x10, 0x41, 0x01, 0x41, 0x20, 0x10, 0x00, 0x1a, 0x0b,
	// data: "hello\n" at 0, iovec {0, 6} at 16
	0x0b, 0x19, 0x02,
	0x00, 0x41, 0x00, 0x0b, 0x06, 'h', 'e', 'l', 'l', 'o', '\n',
	0x00, 0x41, 0x10, 0x0b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00,
}

func ExampleRuntime_Run() {
	ctx := context.Background()
	rt, err := sandbox.New(ctx, sandbox.Config{MaxMemoryMiB: 64})
	if err != nil {
		panic(err)
	}
	defer rt.Close(ctx)
	mod, err := rt.Compile(ctx, helloWasm)
	if err != nil {
		panic(err)
	}
	res, err := rt.Run(ctx, mod, sandbox.RunSpec{Fuel: 1000, MemoryMiB: 1, Timeout: time.Second}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q exit=%d fuel=%d\n", res.Stdout, res.ExitCode, res.FuelUsed)

	// The same module with too little fuel fails with a typed error.
	_, err = rt.Run(ctx, mod, sandbox.RunSpec{Fuel: 3, MemoryMiB: 1, Timeout: time.Second}, nil)
	fmt.Println(err)
	// Output:
	// "hello\n" exit=0 fuel=6
	// sandbox: fuel exhausted: used 6 of 3
}
