package daemon

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// childCPU is the CPU time (user + system) process pid has used, from
// /proc/PID/stat (clock ticks of 10 ms: USER_HZ is 100 on Linux).
func childCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name may contain spaces: fields start after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, true
}

// processSyscalls is how many read-class (read, pread, recv…) and
// write-class (write, pwrite, send…) system calls this process has made,
// from /proc/self/io (fsync, futex and epoll calls are not counted there).
func processSyscalls() (reads, writes uint64, ok bool) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0, false
	}
	var nr, nw int
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		k, v, found := bytes.Cut(line, []byte(": "))
		if !found {
			continue
		}
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			continue
		}
		switch string(k) {
		case "syscr":
			reads, nr = n, nr+1
		case "syscw":
			writes, nw = n, nw+1
		}
	}
	return reads, writes, nr == 1 && nw == 1
}
