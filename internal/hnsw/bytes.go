package hnsw

import (
	"hash/crc32"
	"math/bits"
	"unsafe"
)

// The file format is little-endian. On little-endian hosts (amd64, arm64,
// wasm, riscv64, …) sections are written from and read into the typed
// slices directly through byte views; big-endian hosts swap.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

func u32Bytes(s []uint32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*4)
}

func u64Bytes(s []uint64) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*8)
}

func f32AsU32(s []float32) []uint32 {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&s[0])), len(s))
}

// le32 returns the little-endian encoding of s: a view on little-endian
// hosts, a swapped copy otherwise.
func le32(s []uint32) []byte {
	if littleEndian {
		return u32Bytes(s)
	}
	c := make([]uint32, len(s))
	for i, v := range s {
		c[i] = bits.ReverseBytes32(v)
	}
	return u32Bytes(c)
}

func le64(s []uint64) []byte {
	if littleEndian {
		return u64Bytes(s)
	}
	c := make([]uint64, len(s))
	for i, v := range s {
		c[i] = bits.ReverseBytes64(v)
	}
	return u64Bytes(c)
}

// fromLE32 converts s, just read as little-endian bytes, to host order.
func fromLE32(s []uint32) {
	if littleEndian {
		return
	}
	for i, v := range s {
		s[i] = bits.ReverseBytes32(v)
	}
}

func fromLE64(s []uint64) {
	if littleEndian {
		return
	}
	for i, v := range s {
		s[i] = bits.ReverseBytes64(v)
	}
}

func crc32Castagnoli(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
