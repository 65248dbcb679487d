package cputime

import (
	"runtime"
	"testing"
)

func TestSelfGrows(t *testing.T) {
	before, ok := Self()
	if !ok {
		if runtime.GOOS == "linux" || runtime.GOOS == "darwin" {
			t.Fatal("no CPU time on " + runtime.GOOS)
		}
		t.Skip("not reported on " + runtime.GOOS)
	}
	x := 0
	for i := 0; ; i++ {
		x += i * i
		if i%(1<<20) == 0 {
			if now, _ := Self(); now > before {
				break
			}
		}
	}
	_ = x
}
