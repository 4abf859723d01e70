package rdb

// crcCLMUL tells whether the CPU has PCLMULQDQ and SSE4.1 (CPUID leaf 1, ECX
// bits 1 and 19); set once at package init.
var crcCLMUL = func() bool {
	_, _, c, _ := cpuid(1, 0)
	return c&(1<<1) != 0 && c&(1<<19) != 0
}()

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

//go:noescape
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// crcFoldCLMUL folds p (len a multiple of 16, at least 64) into out. See crcFold.
//
//go:noescape
func crcFoldCLMUL(crc uint64, p []byte, k *crcFoldKeys, out *[16]byte)
