// Package wasmfuel adds deterministic fuel metering to a WebAssembly module
// by rewriting its bytecode before it is compiled.
//
// # Mechanism
//
// Instrument appends a mutable i64 global (the fuel counter) to the module,
// exports it under Options.ExportName (DefaultExportName by default) and
// injects metering code into every function body. Defined globals are
// numbered after imported globals, so appending one shifts no existing
// index; no function, type or table is added, so every other index space is
// untouched. The host sets the global to the budget before calling the entry
// point and reads it afterwards: budget minus remaining is the fuel used.
//
// # Cost model
//
// Every instruction costs 1 fuel except the purely structural ones (block,
// loop, else, end, nop), which cost 0; the metering code itself is free.
// Charges are made per metering region, a maximal run of code entered at a
// single point: a function entry, a loop header, the start of an if arm or
// else arm, or the point just after an end. Only forward control flow stays
// inside a region (branches go to an end, which starts a new region, or to a
// loop header), so when a region is entered its whole static cost is
// subtracted at once. Instructions that a br_if/br/return skips are charged
// anyway, so fuel used is an upper bound on the instructions executed, and
// it is a pure function of the module and the path taken: the same module
// with the same input uses the same fuel on every run and every machine.
//
// Inside a function the counter lives in an added i64 local, so charges
// and checks are register operations once compiled: the function loads the
// global at entry and after every call, and stores it back before every
// call, before returning (return, return_call*, a branch to the function
// label, the final end) and when it traps for exhaustion. This keeps the
// overhead low (see docs/BENCHMARKS.md) while callees, the host and the
// final reading see the exact counter.
//
// The check "if fuel < 0 then unreachable" is emitted only at function
// entries and loop headers, the two places every unbounded execution must
// pass through infinitely often; elsewhere the counter is only decremented.
// A module can therefore finish a short straight stretch with a slightly
// negative counter; the host treats a negative counter after the run as
// exhaustion too, so "within budget" means "total charge ≤ budget" whatever
// the trap position. A trap caused by the check is an ordinary unreachable
// trap; the host tells it apart from other traps by reading the counter
// (negative means exhausted). After any other trap the global holds the
// value of the last store, so fuel used is then a lower bound (still
// deterministic).
//
// Bulk-memory instructions (memory.copy, memory.fill, …) cost 1 like any
// other: their work is bounded by the memory cap, and the wall-clock timeout
// guards the rest.
//
// # Sections
//
// Custom sections are kept verbatim, including the name section (function
// and local indices do not change; the local added per function is
// appended after the existing ones). DWARF (".debug_*") and
// "sourceMappingURL" custom sections describe code offsets that the
// rewrite moves, so they are dropped. A start section runs during
// instantiation, before the host can set the budget; such modules are
// rejected unless Options.AllowStart is set, in which case the start
// function runs on Options.InitialFuel.
//
// Supported instruction set: MVP, sign extension, saturating conversions,
// bulk memory and reference types (0xFC), multi-value block types, tail
// calls and fixed-width SIMD (0xFD). Threads (0xFE), exception handling
// and multi-memory are rejected with ErrUnsupported, as is any unknown
// opcode. Instrument checks structure (sections, LEB128, immediates,
// block nesting, vector counts against the bytes that hold them, at most
// MaxLocals locals per function); type checking is left to the compiler
// that loads the result. The count checks matter: wazero's decoder
// pre-allocates from declared counts, so a module of a few bytes could
// otherwise make it allocate gigabytes.
package wasmfuel

import (
	"bytes"
	"fmt"
	"math"
	"strings"
)

// DefaultExportName is the export name of the fuel global when
// Options.ExportName is empty.
const DefaultExportName = "weftos_fuel"

// Options configures Instrument. The zero value is ready to use.
type Options struct {
	// ExportName is the export name of the fuel counter global; it must
	// not already be exported by the module. Default DefaultExportName.
	ExportName string
	// InitialFuel is the counter's initial value. The host normally sets
	// the budget before each call, so 0 (fail closed: the first check
	// traps) is the right default.
	InitialFuel int64
	// AllowStart keeps modules that have a start section (which runs at
	// instantiation on InitialFuel). By default they are rejected.
	AllowStart bool
}

// Section ids.
const (
	secCustom   = 0
	secType     = 1
	secImport   = 2
	secFunction = 3
	secGlobal   = 6
	secExport   = 7
	secStart    = 8
	secCode     = 10
	secTag      = 13
)

// sectionRank gives the mandatory order of non-custom sections.
var sectionRank = map[byte]int{
	1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13,
}

type section struct {
	id      byte
	payload []byte
	offset  int // offset of payload in the module, for error messages
	name    string
}

var wasmHeader = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// Instrument returns a copy of module with fuel metering added, as
// described in the package documentation. It never modifies module and
// returns an error wrapping ErrMalformed or ErrUnsupported for input it
// cannot instrument soundly.
func Instrument(module []byte, opts Options) ([]byte, error) {
	exportName := opts.ExportName
	if exportName == "" {
		exportName = DefaultExportName
	}
	if len(module) < len(wasmHeader) || !bytes.Equal(module[:4], wasmHeader[:4]) {
		return nil, fmt.Errorf("wasmfuel: not a WebAssembly binary (bad magic): %w", ErrMalformed)
	}
	if !bytes.Equal(module[4:8], wasmHeader[4:8]) {
		return nil, fmt.Errorf("wasmfuel: unsupported binary version %x: %w", module[4:8], ErrUnsupported)
	}
	secs, err := splitSections(module)
	if err != nil {
		return nil, fmt.Errorf("wasmfuel: %w", err)
	}
	m, err := analyse(secs, exportName, opts)
	if err != nil {
		return nil, fmt.Errorf("wasmfuel: %w", err)
	}
	return m.emit(secs, exportName, opts)
}

func splitSections(module []byte) ([]section, error) {
	r := &reader{b: module, pos: len(wasmHeader)}
	var secs []section
	lastRank := 0
	for !r.eof() {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		off := r.pos
		payload, err := r.bytes(int(size))
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", id, err)
		}
		s := section{id: id, payload: payload, offset: off}
		if id == secCustom {
			nr := &reader{b: payload, base: off}
			if s.name, err = nr.name(); err != nil {
				return nil, fmt.Errorf("custom section name: %w", err)
			}
		} else {
			rank, ok := sectionRank[id]
			if !ok {
				return nil, fmt.Errorf("offset %d: unknown section id %d: %w", off, id, ErrMalformed)
			}
			if rank <= lastRank {
				return nil, fmt.Errorf("offset %d: section %d out of order or duplicated: %w", off, id, ErrMalformed)
			}
			lastRank = rank
			if err := checkVectorCount(s); err != nil {
				return nil, err
			}
			if id == secTag {
				return nil, fmt.Errorf("offset %d: tag section (exception handling): %w", off, ErrUnsupported)
			}
		}
		secs = append(secs, s)
	}
	return secs, nil
}

// moduleInfo is what the rewrite needs to know about the module.
type moduleInfo struct {
	typeParams      []uint32 // parameter count per type index
	importedFuncs   uint32
	importedGlobals uint32
	definedGlobals  uint32
	funcTypes       []uint32 // type index per defined function
	exportCount     uint32
	hasFuncSec      bool
}

func analyse(secs []section, exportName string, opts Options) (*moduleInfo, error) {
	m := &moduleInfo{}
	for _, s := range secs {
		r := &reader{b: s.payload, base: s.offset}
		var err error
		switch s.id {
		case secType:
			err = m.readTypes(r)
		case secImport:
			err = m.readImports(r)
		case secFunction:
			m.hasFuncSec = true
			err = m.readFunctions(r)
		case secGlobal:
			m.definedGlobals, err = r.u32()
		case secExport:
			err = m.readExports(r, exportName)
		case 9:
			err = validateElements(r)
		case 11:
			err = validateData(r)
		case secCustom:
			if s.name == "name" {
				err = validateNames(s)
			}
		case secStart:
			if !opts.AllowStart {
				err = fmt.Errorf("offset %d: start section runs before the fuel budget can be set: %w", s.offset, ErrUnsupported)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if uint64(m.importedGlobals)+uint64(m.definedGlobals) >= math.MaxUint32 {
		return nil, fmt.Errorf("too many globals: %w", ErrMalformed)
	}
	return m, nil
}

func (m *moduleInfo) readTypes(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	if int(n) > r.remaining() {
		return r.errf("type count %d exceeds section size", n)
	}
	m.typeParams = make([]uint32, 0, n)
	for i := uint32(0); i < n; i++ {
		form, err := r.byte()
		if err != nil {
			return err
		}
		if form != 0x60 {
			return r.errf("type %d: expected func type 0x60, got 0x%02x", i, form)
		}
		params, err := r.u32()
		if err != nil {
			return err
		}
		if _, err := r.bytes(int(params)); err != nil {
			return err
		}
		results, err := r.u32()
		if err != nil {
			return err
		}
		if _, err := r.bytes(int(results)); err != nil {
			return err
		}
		m.typeParams = append(m.typeParams, params)
	}
	if !r.eof() {
		return r.errf("trailing bytes in type section")
	}
	return nil
}

func (r *reader) limits() error {
	flag, err := r.byte()
	if err != nil {
		return err
	}
	switch flag {
	case 0x00:
		return r.u32s(1)
	case 0x01, 0x03: // 0x03: shared memory (threads), left to the compiler
		return r.u32s(2)
	default:
		return r.unsupported(fmt.Sprintf("limits flag 0x%02x", flag), "memory64 or unknown limits")
	}
}

func (m *moduleInfo) readImports(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		if _, err := r.name(); err != nil {
			return err
		}
		if _, err := r.name(); err != nil {
			return err
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		switch kind {
		case 0x00: // func
			if err := r.u32s(1); err != nil {
				return err
			}
			m.importedFuncs++
		case 0x01: // table
			if _, err := r.byte(); err != nil {
				return err
			}
			if err := r.limits(); err != nil {
				return err
			}
		case 0x02: // memory
			if err := r.limits(); err != nil {
				return err
			}
		case 0x03: // global
			if _, err := r.bytes(2); err != nil {
				return err
			}
			m.importedGlobals++
		default:
			return r.errf("import %d: unknown import kind 0x%02x", i, kind)
		}
	}
	if !r.eof() {
		return r.errf("trailing bytes in import section")
	}
	return nil
}

func (m *moduleInfo) readFunctions(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	if int(n) > r.remaining() {
		return r.errf("function count %d exceeds section size", n)
	}
	m.funcTypes = make([]uint32, n)
	for i := range m.funcTypes {
		t, err := r.u32()
		if err != nil {
			return err
		}
		if int(t) >= len(m.typeParams) {
			return r.errf("function %d: type index %d out of range", i, t)
		}
		m.funcTypes[i] = t
	}
	if !r.eof() {
		return r.errf("trailing bytes in function section")
	}
	return nil
}

func (m *moduleInfo) readExports(r *reader, exportName string) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	m.exportCount = n
	for i := uint32(0); i < n; i++ {
		name, err := r.name()
		if err != nil {
			return err
		}
		if name == exportName {
			return fmt.Errorf("module already exports %q: %w", exportName, ErrUnsupported)
		}
		if _, err := r.byte(); err != nil {
			return err
		}
		if err := r.u32s(1); err != nil {
			return err
		}
	}
	if !r.eof() {
		return r.errf("trailing bytes in export section")
	}
	return nil
}

func appendSection(out []byte, id byte, payload []byte) []byte {
	out = append(out, id)
	out = appendU32(out, uint32(len(payload)))
	return append(out, payload...)
}

func droppedCustom(name string) bool {
	return strings.HasPrefix(name, ".debug_") || name == "sourceMappingURL"
}

// emit writes the instrumented module.
func (m *moduleInfo) emit(secs []section, exportName string, opts Options) ([]byte, error) {
	fuelIdx := m.importedGlobals + m.definedGlobals
	out := make([]byte, 0, estimateSize(secs))
	out = append(out, wasmHeader...)

	newGlobal := []byte{0x7e, 0x01, 0x42}
	newGlobal = appendS64(newGlobal, opts.InitialFuel)
	newGlobal = append(newGlobal, 0x0b)
	newExport := appendU32(nil, uint32(len(exportName)))
	newExport = append(newExport, exportName...)
	newExport = append(newExport, 0x03)
	newExport = appendU32(newExport, fuelIdx)

	wroteGlobal, wroteExport, sawCode := false, false, false
	// flush inserts the synthesized global and export sections before the
	// first section that must follow them.
	flush := func(rank int) {
		if !wroteGlobal && rank > sectionRank[secGlobal] {
			p := appendU32(nil, 1)
			out = appendSection(out, secGlobal, append(p, newGlobal...))
			wroteGlobal = true
		}
		if !wroteExport && rank > sectionRank[secExport] {
			p := appendU32(nil, 1)
			out = appendSection(out, secExport, append(p, newExport...))
			wroteExport = true
		}
	}
	for _, s := range secs {
		if s.id == secCustom {
			if !droppedCustom(s.name) {
				out = appendSection(out, s.id, s.payload)
			}
			continue
		}
		flush(sectionRank[s.id])
		switch s.id {
		case secGlobal:
			r := &reader{b: s.payload, base: s.offset}
			if _, err := r.u32(); err != nil {
				return nil, err
			}
			p := appendU32(nil, m.definedGlobals+1)
			p = append(p, s.payload[r.pos:]...)
			out = appendSection(out, secGlobal, append(p, newGlobal...))
			wroteGlobal = true
		case secExport:
			r := &reader{b: s.payload, base: s.offset}
			if _, err := r.u32(); err != nil {
				return nil, err
			}
			p := appendU32(nil, m.exportCount+1)
			p = append(p, s.payload[r.pos:]...)
			out = appendSection(out, secExport, append(p, newExport...))
			wroteExport = true
		case secCode:
			sawCode = true
			p, err := m.instrumentCode(s, fuelIdx)
			if err != nil {
				return nil, fmt.Errorf("wasmfuel: %w", err)
			}
			out = appendSection(out, secCode, p)
		default:
			out = appendSection(out, s.id, s.payload)
		}
	}
	flush(math.MaxInt)
	if !sawCode && len(m.funcTypes) > 0 {
		return nil, fmt.Errorf("wasmfuel: %d functions declared but no code section: %w", len(m.funcTypes), ErrMalformed)
	}
	return out, nil
}

func estimateSize(secs []section) int {
	n := len(wasmHeader) + 64
	for _, s := range secs {
		n += len(s.payload) + 6
	}
	// The rewrite grows code by roughly a third; reserve for it.
	return n + n/3
}

func (m *moduleInfo) instrumentCode(s section, fuelIdx uint32) ([]byte, error) {
	r := &reader{b: s.payload, base: s.offset}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if int(n) != len(m.funcTypes) {
		return nil, r.errf("code section has %d bodies, function section declares %d", n, len(m.funcTypes))
	}
	out := make([]byte, 0, len(s.payload)+len(s.payload)/2)
	out = appendU32(out, n)
	var body []byte
	for i := uint32(0); i < n; i++ {
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		off := r.base + r.pos
		raw, err := r.bytes(int(size))
		if err != nil {
			return nil, err
		}
		params := m.typeParams[m.funcTypes[i]]
		body, err = instrumentBody(body[:0], raw, off, params, fuelIdx)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", m.importedFuncs+i, err)
		}
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	if !r.eof() {
		return nil, r.errf("trailing bytes in code section")
	}
	return out, nil
}
