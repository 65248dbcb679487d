package wasmfuel

import "fmt"

// Hostile counts. wazero's decoder pre-allocates slices from the vector
// counts it reads (sections, locals, element and data segments, the name
// section), so a few bytes claiming 2^28 entries make it allocate
// gigabytes. Instrument runs first and refuses such input, which also
// shields the compiler behind it.

// MaxLocals caps the locals a function may declare (V8 uses the same
// limit); wazero would allocate the declared count up front.
const MaxLocals = 50_000

// vectorSections are the sections whose payload starts with a vector
// count; every entry takes at least one byte.
var vectorSections = map[byte]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 9: true, 10: true, 11: true}

func checkVectorCount(s section) error {
	if !vectorSections[s.id] {
		return nil
	}
	r := &reader{b: s.payload, base: s.offset}
	n, err := r.u32()
	if err != nil {
		return err
	}
	if uint64(n) > uint64(r.remaining()) {
		return r.errf("section %d claims %d entries in %d bytes", s.id, n, r.remaining())
	}
	return nil
}

// vecCount reads a vector count that must fit in the remaining bytes.
func (r *reader) vecCount() (uint32, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n) > uint64(r.remaining()) {
		return 0, r.errf("vector of %d entries exceeds %d remaining bytes", n, r.remaining())
	}
	return n, nil
}

// constExpr skips a constant expression up to and including its end.
func (r *reader) constExpr() error {
	for {
		kind, err := r.instr()
		if err != nil {
			return err
		}
		switch kind {
		case kEnd:
			return nil
		case kBlock, kLoop, kIf, kElse:
			return r.errf("control instruction in constant expression")
		}
	}
}

func validateData(r *reader) error {
	n, err := r.vecCount()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		flag, err := r.u32()
		if err != nil {
			return err
		}
		switch flag {
		case 0:
			err = r.constExpr()
		case 1:
		case 2:
			if err = r.u32s(1); err == nil {
				err = r.constExpr()
			}
		default:
			return r.errf("data segment %d: bad flags %d", i, flag)
		}
		if err != nil {
			return err
		}
		size, err := r.u32()
		if err != nil {
			return err
		}
		if _, err := r.bytes(int(size)); err != nil {
			return err
		}
	}
	return r.trailing("data")
}

func validateElements(r *reader) error {
	n, err := r.vecCount()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		flag, err := r.u32()
		if err != nil {
			return err
		}
		if flag > 7 {
			return r.errf("element segment %d: bad flags %d", i, flag)
		}
		if flag&1 == 0 { // active
			if flag&2 != 0 {
				if err := r.u32s(1); err != nil { // table index
					return err
				}
			}
			if err := r.constExpr(); err != nil {
				return err
			}
		}
		if flag&3 != 0 { // elemkind or reftype byte
			if _, err := r.byte(); err != nil {
				return err
			}
		}
		count, err := r.vecCount()
		if err != nil {
			return err
		}
		for j := uint32(0); j < count; j++ {
			if flag&4 != 0 {
				err = r.constExpr()
			} else {
				err = r.u32s(1)
			}
			if err != nil {
				return err
			}
		}
	}
	return r.trailing("element")
}

// validateNames checks the vectors of the "name" custom section (module,
// function and local names); other subsections are skipped.
func validateNames(s section) error {
	r := &reader{b: s.payload, base: s.offset}
	if _, err := r.name(); err != nil {
		return err
	}
	for !r.eof() {
		id, err := r.byte()
		if err != nil {
			return err
		}
		size, err := r.u32()
		if err != nil {
			return err
		}
		off := r.base + r.pos
		sub, err := r.bytes(int(size))
		if err != nil {
			return err
		}
		sr := &reader{b: sub, base: off}
		switch id {
		case 0:
			_, err = sr.name()
		case 1:
			err = sr.nameMap()
		case 2:
			var n uint32
			if n, err = sr.vecCount(); err != nil {
				break
			}
			for i := uint32(0); i < n && err == nil; i++ {
				if err = sr.u32s(1); err == nil {
					err = sr.nameMap()
				}
			}
		}
		if err != nil {
			return fmt.Errorf("name section: %w", err)
		}
	}
	return nil
}

func (r *reader) nameMap() error {
	n, err := r.vecCount()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		if err := r.u32s(1); err != nil {
			return err
		}
		if _, err := r.name(); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) trailing(what string) error {
	if !r.eof() {
		return r.errf("trailing bytes in %s section", what)
	}
	return nil
}
