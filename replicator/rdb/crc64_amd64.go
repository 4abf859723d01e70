package rdb

import "golang.org/x/sys/cpu"

// crcCLMUL tells whether the CPU has PCLMULQDQ and SSE4.1.
var crcCLMUL = cpu.X86.HasPCLMULQDQ && cpu.X86.HasSSE41

// crcKeys are the folding constants, computed once at package init.
var crcKeys = makeCRCFoldKeys()

// crcFold folds p (a multiple of 16 bytes, at least 64) with crc into the 16
// bytes of out, whose CRC64 from 0 is that of p from crc. It reports false, and
// does nothing, when the CPU cannot.
func crcFold(crc uint64, p []byte, out *[16]byte) bool {
	if !crcCLMUL {
		return false
	}
	crcFoldCLMUL(crc, p, crcKeys, out)
	return true
}

// crcFoldCLMUL folds p (len a multiple of 16, at least 64) into out. See crcFold.
//
//go:noescape
func crcFoldCLMUL(crc uint64, p []byte, k *crcFoldKeys, out *[16]byte)
