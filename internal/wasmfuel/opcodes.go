package wasmfuel

import "fmt"

// opKind classifies an instruction for the metering pass.
type opKind uint8

const (
	kPlain opKind = iota // costs 1 fuel
	kFree                // nop: costs nothing
	kBlock               // block: structural, costs nothing
	kLoop                // loop: structural, starts a checked metering region
	kIf                  // if: costs 1, its then-arm starts a metering region
	kElse                // else: structural, starts a metering region
	kEnd                 // end: structural, starts a metering region after it
)

func (r *reader) unsupported(op string, why string) error {
	return fmt.Errorf("offset %d: opcode %s (%s): %w", r.base+r.pos, op, why, ErrUnsupported)
}

// blockType skips a block type: 0x40 (empty), a value type, or a
// non-negative s33 type index (multi-value blocks).
func (r *reader) blockType() error {
	if r.eof() {
		return r.errf("missing block type")
	}
	switch c := r.b[r.pos]; c {
	case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		r.pos++
		return nil
	}
	v, err := r.sleb(33)
	if err != nil {
		return err
	}
	if v < 0 {
		return r.errf("invalid block type %d", v)
	}
	return nil
}

// memarg skips a memory immediate (alignment and offset).
func (r *reader) memarg() error {
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 {
		return r.unsupported("memarg", "multi-memory")
	}
	_, err = r.u32()
	return err
}

func (r *reader) u32s(n int) error {
	for i := 0; i < n; i++ {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}

// instr decodes one instruction starting at r.pos, skipping its immediates,
// and returns its metering kind. Unknown or unsupported opcodes are errors:
// guessing an immediate layout would desynchronise the decoder.
func (r *reader) instr() (opKind, error) {
	op, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case op == 0x00, op == 0x0f, op == 0x1a, op == 0x1b, op == 0xd1,
		op >= 0x45 && op <= 0xc4:
		return kPlain, nil
	case op == 0x01:
		return kFree, nil
	case op == 0x02:
		return kBlock, r.blockType()
	case op == 0x03:
		return kLoop, r.blockType()
	case op == 0x04:
		return kIf, r.blockType()
	case op == 0x05:
		return kElse, nil
	case op == 0x0b:
		return kEnd, nil
	case op == 0x0c, op == 0x0d, op == 0x10, op == 0x12, // br, br_if, call, return_call
		op >= 0x20 && op <= 0x26, // local.*, global.*, table.get/set
		op == 0xd2:               // ref.func
		return kPlain, r.u32s(1)
	case op == 0x11, op == 0x13: // call_indirect, return_call_indirect
		return kPlain, r.u32s(2)
	case op == 0x0e: // br_table
		n, err := r.u32()
		if err != nil {
			return 0, err
		}
		if int(n) > r.remaining() {
			return 0, r.errf("br_table with %d targets exceeds input", n)
		}
		return kPlain, r.u32s(int(n) + 1)
	case op == 0x1c: // select t*
		n, err := r.u32()
		if err != nil {
			return 0, err
		}
		_, err = r.bytes(int(n))
		return kPlain, err
	case op >= 0x28 && op <= 0x3e:
		return kPlain, r.memarg()
	case op == 0x3f, op == 0x40: // memory.size, memory.grow
		return kPlain, r.u32s(1)
	case op == 0x41:
		_, err := r.sleb(32)
		return kPlain, err
	case op == 0x42:
		_, err := r.sleb(64)
		return kPlain, err
	case op == 0x43:
		_, err := r.bytes(4)
		return kPlain, err
	case op == 0x44:
		_, err := r.bytes(8)
		return kPlain, err
	case op == 0xd0: // ref.null
		_, err := r.byte()
		return kPlain, err
	case op == 0xfc:
		return r.miscInstr()
	case op == 0xfd:
		return r.vecInstr()
	case op == 0xfe:
		return 0, r.unsupported("0xfe", "threads/atomics")
	case op >= 0x06 && op <= 0x09, op == 0x18, op == 0x19, op == 0x1f:
		return 0, r.unsupported(fmt.Sprintf("0x%02x", op), "exception handling")
	default:
		return 0, r.unsupported(fmt.Sprintf("0x%02x", op), "unknown opcode")
	}
}

// miscInstr decodes the 0xFC prefix: saturating truncation, bulk memory and
// table operations.
func (r *reader) miscInstr() (opKind, error) {
	sub, err := r.u32()
	if err != nil {
		return 0, err
	}
	switch sub {
	case 0, 1, 2, 3, 4, 5, 6, 7: // iNN.trunc_sat_fMM_[su]
		return kPlain, nil
	case 9, 11, 13, 15, 16, 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
		return kPlain, r.u32s(1)
	case 8, 10, 12, 14: // memory.init, memory.copy, table.init, table.copy
		return kPlain, r.u32s(2)
	default:
		return 0, r.unsupported(fmt.Sprintf("0xfc %d", sub), "unknown 0xfc sub-opcode")
	}
}

// vecOpValid lists the defined 0xFD (fixed-width SIMD) sub-opcodes; the
// encoding space has holes that must be rejected rather than guessed.
var vecOpValid = func() (v [256]bool) {
	ranges := [][2]int{
		{0x00, 0x99}, {0x9b, 0xa1}, {0xa3, 0xa4}, {0xa7, 0xae}, {0xb1, 0xb1},
		{0xb5, 0xba}, {0xbc, 0xc1}, {0xc3, 0xc4}, {0xc7, 0xce}, {0xd1, 0xd1},
		{0xd5, 0xe1}, {0xe3, 0xed}, {0xef, 0xff},
	}
	for _, rg := range ranges {
		for i := rg[0]; i <= rg[1]; i++ {
			v[i] = true
		}
	}
	return v
}()

func (r *reader) vecInstr() (opKind, error) {
	sub, err := r.u32()
	if err != nil {
		return 0, err
	}
	if sub > 0xff || !vecOpValid[sub] {
		return 0, r.unsupported(fmt.Sprintf("0xfd %d", sub), "unknown SIMD sub-opcode")
	}
	switch {
	case sub <= 0x0b, sub == 0x5c, sub == 0x5d: // v128 loads/stores
		return kPlain, r.memarg()
	case sub == 0x0c, sub == 0x0d: // v128.const, i8x16.shuffle
		_, err := r.bytes(16)
		return kPlain, err
	case sub >= 0x15 && sub <= 0x22: // extract/replace lane
		_, err := r.byte()
		return kPlain, err
	case sub >= 0x54 && sub <= 0x5b: // load/store lane
		if err := r.memarg(); err != nil {
			return 0, err
		}
		_, err := r.byte()
		return kPlain, err
	default:
		return kPlain, nil
	}
}
