package wasmfuel

import (
	"fmt"
	"math"
)

// meterKind says what metering code goes at a point.
type meterKind uint8

const (
	// mCharge subtracts the region's cost from the function's fuel local.
	mCharge meterKind = iota
	// mCheck charges and traps if the fuel local went negative (loop
	// headers).
	mCheck
	// mEntry loads the fuel global into the local, charges and checks
	// (function entry).
	mEntry
	// mSync stores the fuel local into the global, before calls and
	// before leaving the function, so callees and the host see it.
	mSync
	// mReload loads the global into the local after a call returns.
	mReload
)

// meter is one metering point inside a function body.
type meter struct {
	at   int   // offset in the body where the metering code is inserted
	cost int64 // static cost of the region that starts here
	kind meterKind
}

// control-stack entry kinds.
const (
	ctlBlock = iota
	ctlLoop
	ctlIf
	ctlElse
)

// maxNesting bounds the control stack so hostile input cannot make the
// decoder allocate without limit (the body length bounds it anyway).
const maxNesting = 1 << 16

// Opcodes the planner looks at.
const (
	opBr                 = 0x0c
	opBrIf               = 0x0d
	opBrTable            = 0x0e
	opReturn             = 0x0f
	opCall               = 0x10
	opCallIndirect       = 0x11
	opReturnCall         = 0x12
	opReturnCallIndirect = 0x13
)

// instrumentBody appends to dst the body raw (locals + expression) with
// one extra i64 local (the function's copy of the fuel counter) and
// metering code inserted. off is raw's offset in the module (for errors),
// params the function's parameter count.
func instrumentBody(dst, raw []byte, off int, params, fuelIdx uint32) ([]byte, error) {
	r := &reader{b: raw, base: off}
	groups, err := r.u32()
	if err != nil {
		return nil, err
	}
	if int(groups) > r.remaining() {
		return nil, r.errf("local group count %d exceeds body size", groups)
	}
	var declared uint64
	for i := uint32(0); i < groups; i++ {
		c, err := r.u32()
		if err != nil {
			return nil, err
		}
		if _, err := r.byte(); err != nil {
			return nil, err
		}
		if declared += uint64(c); declared > MaxLocals {
			return nil, fmt.Errorf("offset %d: function declares more than %d locals: %w", off, MaxLocals, ErrUnsupported)
		}
	}
	total := uint64(params) + declared
	// The added local must be addressable by a u32 index.
	if total+1 > math.MaxUint32 {
		return nil, r.errf("too many locals (%d)", total)
	}
	loc := locals{fuel: uint32(total), global: fuelIdx}
	localsEnd := r.pos

	meters, err := planMeters(r)
	if err != nil {
		return nil, err
	}

	dst = appendU32(dst, groups+1)
	// Copy the original local groups (after their count), then add ours.
	lr := &reader{b: raw}
	_, _ = lr.u32() // cannot fail: decoded above
	dst = append(dst, raw[lr.pos:localsEnd]...)
	dst = append(dst, 0x01, 0x7e) // one i64 local: the fuel counter

	prev := localsEnd
	for _, mt := range meters {
		dst = append(dst, raw[prev:mt.at]...)
		dst = loc.appendMeter(dst, mt)
		prev = mt.at
	}
	return append(dst, raw[prev:]...), nil
}

// planMeters decodes the expression at r.pos and returns the metering
// points in ascending offset order. It checks block nesting: else only
// inside if, and the final end exactly at the end of the body.
func planMeters(r *reader) ([]meter, error) {
	meters := []meter{{at: r.pos, kind: mEntry}}
	cur := 0
	ctl := make([]uint8, 0, 16)
	for {
		if r.eof() {
			return nil, r.errf("function body ends without end")
		}
		start := r.pos
		kind, err := r.instr()
		if err != nil {
			return nil, err
		}
		switch op := r.b[start]; {
		case op == opCall, op == opCallIndirect:
			meters = append(meters, meter{at: start, kind: mSync}, meter{at: r.pos, kind: mReload})
		case op == opReturn, op == opReturnCall, op == opReturnCallIndirect:
			meters = append(meters, meter{at: start, kind: mSync})
		case op == opBr, op == opBrIf, op == opBrTable:
			if leavesFunction(r.b[start:r.pos], len(ctl)) {
				meters = append(meters, meter{at: start, kind: mSync})
			}
		}
		switch kind {
		case kPlain:
			meters[cur].cost++
		case kFree:
		case kBlock:
			ctl = append(ctl, ctlBlock)
		case kLoop:
			ctl = append(ctl, ctlLoop)
			meters = append(meters, meter{at: r.pos, kind: mCheck})
		case kIf:
			meters[cur].cost++
			ctl = append(ctl, ctlIf)
			meters = append(meters, meter{at: r.pos})
		case kElse:
			if len(ctl) == 0 || ctl[len(ctl)-1] != ctlIf {
				return nil, r.errf("else without matching if")
			}
			ctl[len(ctl)-1] = ctlElse
			meters = append(meters, meter{at: r.pos})
		case kEnd:
			if len(ctl) == 0 {
				if !r.eof() {
					return nil, r.errf("%d trailing bytes after function end", r.remaining())
				}
				return append(meters, meter{at: start, kind: mSync}), nil
			}
			ctl = ctl[:len(ctl)-1]
			meters = append(meters, meter{at: r.pos})
		}
		if len(ctl) > maxNesting {
			return nil, r.errf("blocks nested deeper than %d", maxNesting)
		}
		// Charges accrue to the latest region, never to a sync point.
		for cur = len(meters) - 1; meters[cur].kind == mSync || meters[cur].kind == mReload; cur-- {
		}
	}
}

// leavesFunction reports whether the branch instruction ins (br, br_if or
// br_table with its immediates) can target the function body's own label,
// i.e. return. depth is the number of enclosing blocks.
func leavesFunction(ins []byte, depth int) bool {
	r := &reader{b: ins, pos: 1}
	n := uint32(0)
	if ins[0] == opBrTable {
		var err error
		if n, err = r.u32(); err != nil {
			return true
		}
	}
	for i := uint32(0); i <= n; i++ {
		l, err := r.u32()
		if err != nil || uint64(l) >= uint64(depth) {
			return true
		}
	}
	return false
}

type locals struct {
	fuel   uint32 // index of the function's fuel local
	global uint32 // index of the fuel global
}

// appendMeter emits the metering code for mt (L is the fuel local, G the
// fuel global):
//
//	charge: local.get L; i64.const cost; i64.sub; local.set L
//	check:  local.get L; i64.const cost; i64.sub; local.tee L;
//	        i64.const 0; i64.lt_s; if; local.get L; global.set G; unreachable; end
//	entry:  global.get G; i64.const cost; i64.sub; local.tee L; … as check
//	sync:   local.get L; global.set G
//	reload: global.get G; local.set L
//
// Charges and checks touch only the local (a register after
// compilation); the global is read at function entry and after calls and
// written before calls, before leaving the function and on exhaustion.
func (l locals) appendMeter(dst []byte, mt meter) []byte {
	switch mt.kind {
	case mCharge:
		if mt.cost == 0 {
			return dst
		}
		dst = l.op(dst, 0x20, l.fuel)
		dst = appendS64(append(dst, 0x42), mt.cost)
		dst = append(dst, 0x7d) // i64.sub
		return l.op(dst, 0x21, l.fuel)
	case mSync:
		dst = l.op(dst, 0x20, l.fuel)
		return l.op(dst, 0x24, l.global)
	case mReload:
		dst = l.op(dst, 0x23, l.global)
		return l.op(dst, 0x21, l.fuel)
	case mEntry:
		dst = l.op(dst, 0x23, l.global)
	default: // mCheck
		dst = l.op(dst, 0x20, l.fuel)
	}
	if mt.cost != 0 {
		dst = appendS64(append(dst, 0x42), mt.cost)
		dst = append(dst, 0x7d)
	}
	dst = l.op(dst, 0x22, l.fuel)                   // local.tee L
	dst = append(dst, 0x42, 0x00, 0x53, 0x04, 0x40) // i64.const 0; i64.lt_s; if
	dst = l.op(dst, 0x20, l.fuel)
	dst = l.op(dst, 0x24, l.global)
	return append(dst, 0x00, 0x0b) // unreachable; end
}

// op appends an instruction with one u32 immediate.
func (l locals) op(dst []byte, opcode byte, idx uint32) []byte {
	return appendU32(append(dst, opcode), idx)
}
