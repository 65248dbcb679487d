package jcs

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// maxMembers bounds the names Members looks for at once.
const maxMembers = 64

// Members finds several members of the object obj in one pass, where
// Member would scan it once per name: raws[i] is the value Member(obj,
// names[i]) returns, nil when that member is absent or null. It fails
// exactly when one of those calls would: the scan is the same, and stops
// once every name is found. raws must be as long as names, at most 64.
func Members(obj []byte, names []string, raws [][]byte) error {
	if len(names) > maxMembers || len(raws) != len(names) {
		return fmt.Errorf("jcs: Members of %d names into %d values", len(names), len(raws))
	}
	clear(raws)
	if len(names) == 0 {
		return nil
	}
	var found uint64
	all := uint64(1)<<len(names) - 1
	if len(names) == maxMembers {
		all = ^uint64(0)
	}
	i := skipSpace(obj, 0)
	if i < len(obj) && obj[i] == 'n' && string(bytes.TrimSpace(obj[i:])) == "null" {
		return nil
	}
	if i >= len(obj) || obj[i] != '{' {
		return ErrNotObject
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return fmt.Errorf("%w: member name expected at %d", ErrInvalid, i)
		}
		kStart := i
		kEnd, esc, err := skipString(obj, i)
		if err != nil {
			return err
		}
		i = skipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return fmt.Errorf("%w: ':' expected at %d", ErrInvalid, i)
		}
		i = skipSpace(obj, i+1)
		vEnd, err := skipValue(obj, i)
		if err != nil {
			return err
		}
		key, valid := obj[kStart+1:kEnd-1], true
		if esc {
			var k string
			valid = json.Unmarshal(obj[kStart:kEnd], &k) == nil // no match otherwise, as in findMember
			key = []byte(k)
		}
		for n, name := range names {
			if valid && found&(1<<n) == 0 && string(key) == name {
				found |= 1 << n
				v := bytes.TrimSpace(obj[i:vEnd]) // as Member
				if v == nil {
					v = obj[vEnd:vEnd] // present, if empty (not JSON): not nil
				}
				if string(v) != "null" {
					raws[n] = v
				}
			}
		}
		if found == all {
			return nil
		}
		i = skipSpace(obj, vEnd)
		if i >= len(obj) {
			return fmt.Errorf("%w: unterminated object", ErrInvalid)
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return nil
		default:
			return fmt.Errorf("%w: ',' or '}' expected at %d", ErrInvalid, i)
		}
	}
}
