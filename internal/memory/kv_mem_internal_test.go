package memory

import (
	"errors"
	"strings"
	"testing"
)

func TestMemKVTransactions(t *testing.T) {
	m := newMemKV()
	b := bucketMeta
	put := func(tx kvTx, k, v string) {
		if err := tx.Put(b, []byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Update(func(tx kvTx) error {
		put(tx, "b", "2")
		put(tx, "a", "1")
		if string(tx.Get(b, []byte("a"))) != "1" {
			t.Error("own write not visible")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := m.Update(func(tx kvTx) error {
		put(tx, "c", "3")
		if err := tx.Delete(b, []byte("a")); err != nil {
			t.Fatal(err)
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	list := func(tx kvTx) string {
		var keys []string
		tx.ForEach(b, func(k, v []byte) error { keys = append(keys, string(k)+"="+string(v)); return nil })
		return strings.Join(keys, ",")
	}
	m.View(func(tx kvTx) error {
		if got := list(tx); got != "a=1,b=2" || tx.Count(b) != 2 {
			t.Errorf("after rollback: %s", got)
		}
		if err := tx.Put(b, []byte("x"), []byte("y")); !errors.Is(err, errReadOnlyTx) {
			t.Errorf("write in view: %v", err)
		}
		return nil
	})
	m.Update(func(tx kvTx) error {
		if err := tx.ClearBucket(b); err != nil {
			t.Fatal(err)
		}
		put(tx, "z", "26")
		if got := list(tx); got != "z=26" {
			t.Errorf("in tx after clear: %s", got)
		}
		return nil
	})
	m.View(func(tx kvTx) error {
		if got := list(tx); got != "z=26" {
			t.Errorf("after clear: %s", got)
		}
		return nil
	})
	if err := m.Update(func(tx kvTx) error { return tx.Put([]byte("nope"), nil, nil) }); !errors.Is(err, errNoBucket) {
		t.Errorf("unknown bucket: %v", err)
	}
}
