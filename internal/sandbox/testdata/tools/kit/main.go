//go:build wasip1

// Command kit is the sandbox's test tool, built from source at test time.
// One binary with several behaviours (selected by argv[1]) keeps the test
// suite to a single compilation of a Go wasip1 module:
//
//	echo     echo the JSON input with an upper-cased "text", log via weftos.log
//	loop     never terminate
//	membomb  allocate memory without bound
//	bigout   write 8 MiB to stdout
//	files    perform the file operation named in the input, report as JSON
//	fetch    call weftos.http_fetch with the input as request
//	cpu      count primes below input "n" (CPU-bound)
//	clock    print the time, a monotonic delta and random bytes
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

//go:wasmimport weftos log
func hostLog(level, ptr, n uint32)

//go:wasmimport weftos http_fetch
func httpFetch(reqPtr, reqLen, respPtr, respCap uint32) int32

func ptr(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

func main() {
	mode := ""
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		os.Stderr.WriteString("read: " + err.Error() + "\n")
		os.Exit(1)
	}
	switch mode {
	case "echo":
		echo(in)
	case "loop":
		loop()
	case "membomb":
		membomb()
	case "bigout":
		bigout()
	case "spew":
		spew()
	case "files":
		files(in)
	case "fetch":
		fetch(in)
	case "cpu":
		cpu(in)
	case "clock":
		clock()
	default:
		os.Stderr.WriteString("unknown mode " + mode + "\n")
		os.Exit(4)
	}
}

func echo(in []byte) {
	var req struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(in, &req); err != nil {
		os.Stderr.WriteString("bad input: " + err.Error() + "\n")
		os.Exit(3)
	}
	msg := []byte("echo: got " + req.Text)
	hostLog(1, ptr(msg), uint32(len(msg)))
	out, _ := json.Marshal(map[string]any{"text": req.Text, "upper": strings.ToUpper(req.Text), "args": os.Args, "env": os.Environ()})
	os.Stdout.Write(out)
}

var sink int

func loop() {
	for i := 0; ; i++ {
		sink += i
	}
}

var keep [][]byte

func membomb() {
	for i := 0; ; i++ {
		b := make([]byte, 1<<20)
		b[0] = byte(i)
		keep = append(keep, b)
		if i%64 == 0 {
			fmt.Println("allocated MiB:", i)
		}
	}
}

// spew writes to stdout forever, ignoring write errors.
func spew() {
	line := []byte(strings.Repeat("y", 1023) + "\n")
	for {
		os.Stdout.Write(line)
	}
}

func bigout() {
	line := append(bytes.Repeat([]byte("x"), 1023), '\n')
	for i := 0; i < 8192; i++ {
		if _, err := os.Stdout.Write(line); err != nil {
			os.Stderr.WriteString("write failed: " + err.Error() + "\n")
			os.Exit(1)
		}
	}
}

func files(in []byte) {
	var req struct {
		Op   string `json:"op"`
		Path string `json:"path"`
		Data string `json:"data"`
		To   string `json:"to"`
	}
	if err := json.Unmarshal(in, &req); err != nil {
		os.Exit(3)
	}
	var data []byte
	var err error
	switch req.Op {
	case "read":
		data, err = os.ReadFile(req.Path)
	case "write":
		err = os.WriteFile(req.Path, []byte(req.Data), 0o644)
	case "list":
		var ents []os.DirEntry
		ents, err = os.ReadDir(req.Path)
		for _, e := range ents {
			data = append(data, e.Name()+"\n"...)
		}
	case "symlink":
		err = os.Symlink(req.To, req.Path)
	case "link":
		err = os.Link(req.To, req.Path)
	case "rename":
		err = os.Rename(req.Path, req.To)
	case "env":
		data = []byte(os.Getenv(req.Path))
	default:
		os.Exit(4)
	}
	out := map[string]any{"ok": err == nil, "data": string(data)}
	if err != nil {
		out["err"] = err.Error()
	}
	b, _ := json.Marshal(out)
	os.Stdout.Write(b)
}

// fetch starts with a deliberately small buffer to exercise the
// "buffer too small" protocol.
func fetch(req []byte) {
	buf := make([]byte, 8)
	calls := 1
	n := httpFetch(ptr(req), uint32(len(req)), ptr(buf), uint32(len(buf)))
	if n == -4 {
		buf = make([]byte, binary.LittleEndian.Uint32(buf))
		calls++
		n = httpFetch(ptr(req), uint32(len(req)), ptr(buf), uint32(len(buf)))
	}
	out := map[string]any{"code": n, "calls": calls}
	if n >= 0 {
		out["response"] = json.RawMessage(buf[:n])
	}
	b, _ := json.Marshal(out)
	os.Stdout.Write(b)
}

func cpu(in []byte) {
	var req struct {
		N int `json:"n"`
	}
	_ = json.Unmarshal(in, &req)
	count := 0
	for i := 2; i < req.N; i++ {
		prime := true
		for d := 2; d*d <= i; d++ {
			if i%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			count++
		}
	}
	os.Stdout.WriteString(strconv.Itoa(count))
}

func clock() {
	start := time.Now()
	time.Sleep(50 * time.Millisecond) // a fake clock: no real waiting
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	fmt.Printf("%s %v %x\n", start.UTC().Format(time.RFC3339), time.Since(start) >= 50*time.Millisecond, b)
}
