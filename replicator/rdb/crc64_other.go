//go:build !amd64

package rdb

// crcFold reports false: CRC64 uses the table on CPUs without a folding
// implementation.
func crcFold(uint64, []byte, *[16]byte) bool { return false }
