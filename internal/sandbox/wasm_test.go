package sandbox

// Hand-assembled modules for tests and benchmarks that must not depend on
// the Go toolchain's wasip1 output (whose runtime initialisation dominates
// any measurement).

func uleb(v uint32) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, c|0x80)
			continue
		}
		return append(out, c)
	}
}

func wstr(s string) []byte { return append(uleb(uint32(len(s))), s...) }

func wsection(id byte, items ...[]byte) []byte {
	p := uleb(uint32(len(items)))
	for _, it := range items {
		p = append(p, it...)
	}
	return append(append([]byte{id}, uleb(uint32(len(p)))...), p...)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var wasmHead = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// helloModule is a WASI command that writes "hello\n" with fd_write.
func helloModule() []byte {
	fdWrite := []byte{0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7f}
	void := []byte{0x60, 0, 0}
	body := []byte{0, // no locals
		0x41, 1, 0x41, 16, 0x41, 1, 0x41, 32, // fd=1 iovs=16 n=1 nwritten=32
		0x10, 0, 0x1a, 0x0b} // call fd_write; drop; end
	return cat(wasmHead,
		wsection(1, fdWrite, void),
		wsection(2, cat(wstr(WASIModule), wstr("fd_write"), []byte{0x00, 0})),
		wsection(3, []byte{1}),
		wsection(5, []byte{0x00, 1}),
		wsection(7, cat(wstr("_start"), []byte{0x00, 1}), cat(wstr("memory"), []byte{0x02, 0})),
		wsection(10, cat(uleb(uint32(len(body))), body)),
		wsection(11,
			cat([]byte{0x00, 0x41, 0, 0x0b}, wstr("hello\n")),
			cat([]byte{0x00, 0x41, 16, 0x0b}, uleb(8), []byte{0, 0, 0, 0, 6, 0, 0, 0})),
	)
}

// logLoopModule calls weftos.log(1, 0, 5) n times, then returns.
func logLoopModule(n uint32) []byte {
	logT := []byte{0x60, 3, 0x7f, 0x7f, 0x7f, 0}
	void := []byte{0x60, 0, 0}
	body := cat([]byte{1, 1, 0x7f}, // one i32 local: counter
		[]byte{0x02, 0x40, 0x03, 0x40},                                         // block loop
		[]byte{0x20, 0}, []byte{0x41}, sleb32(int32(n)), []byte{0x4e, 0x0d, 1}, // i >= n → br 1 (i32.ge_s)
		[]byte{0x41, 1, 0x41, 0, 0x41, 5, 0x10, 0}, // log(1, 0, 5)
		[]byte{0x20, 0, 0x41, 1, 0x6a, 0x21, 0},    // i++
		[]byte{0x0c, 0, 0x0b, 0x0b, 0x0b})          // br 0; end; end; end
	return cat(wasmHead,
		wsection(1, logT, void),
		wsection(2, cat(wstr(HostModule), wstr("log"), []byte{0x00, 0})),
		wsection(3, []byte{1}),
		wsection(5, []byte{0x00, 1}),
		wsection(7, cat(wstr("_start"), []byte{0x00, 1}), cat(wstr("memory"), []byte{0x02, 0})),
		wsection(10, cat(uleb(uint32(len(body))), body)),
		wsection(11, cat([]byte{0x00, 0x41, 0, 0x0b}, wstr("hello"))),
	)
}

func sleb32(v int32) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

// importModule is a command that imports mod.name as a () -> () function.
func importModule(mod, name string) []byte {
	void := []byte{0x60, 0, 0}
	body := []byte{0, 0x0b}
	return cat(wasmHead,
		wsection(1, void),
		wsection(2, cat(wstr(mod), wstr(name), []byte{0x00, 0})),
		wsection(3, []byte{0}),
		wsection(7, cat(wstr("_start"), []byte{0x00, 1})),
		wsection(10, cat(uleb(uint32(len(body))), body)),
	)
}

// noStartModule is a valid module without a _start export.
func noStartModule() []byte {
	void := []byte{0x60, 0, 0}
	body := []byte{0, 0x0b}
	return cat(wasmHead,
		wsection(1, void),
		wsection(3, []byte{0}),
		wsection(7, cat(wstr("run"), []byte{0x00, 0})),
		wsection(10, cat(uleb(uint32(len(body))), body)),
	)
}

// bigMemoryModule declares an initial memory of pages pages.
func bigMemoryModule(pages uint32) []byte {
	void := []byte{0x60, 0, 0}
	body := []byte{0, 0x0b}
	return cat(wasmHead,
		wsection(1, void),
		wsection(3, []byte{0}),
		wsection(5, cat([]byte{0x00}, uleb(pages))),
		wsection(7, cat(wstr("_start"), []byte{0x00, 0})),
		wsection(10, cat(uleb(uint32(len(body))), body)),
	)
}

// noMemoryLogModule calls weftos.log(1, 0, 5) and weftos.http_fetch but
// has no linear memory.
func noMemoryLogModule() []byte {
	logT := []byte{0x60, 3, 0x7f, 0x7f, 0x7f, 0}
	fetchT := []byte{0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7f}
	void := []byte{0x60, 0, 0}
	body := []byte{0, 0x41, 1, 0x41, 0, 0x41, 5, 0x10, 0,
		0x41, 0, 0x41, 4, 0x41, 0, 0x41, 4, 0x10, 1, 0x1a, 0x0b}
	return cat(wasmHead,
		wsection(1, logT, fetchT, void),
		wsection(2, cat(wstr(HostModule), wstr("log"), []byte{0x00, 0}), cat(wstr(HostModule), wstr("http_fetch"), []byte{0x00, 1})),
		wsection(3, []byte{2}),
		wsection(7, cat(wstr("_start"), []byte{0x00, 2})),
		wsection(10, cat(uleb(uint32(len(body))), body)),
	)
}
