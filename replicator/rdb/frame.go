package rdb

import (
	"encoding/binary"
	"fmt"
)

// FrameKey frames one value (the raw bytes of a DUMP payload, see
// ParseDumpPayload) as an RDB file of version ver holding just that key in db 0,
// without an expire and with a zero checksum (not checked, as in rdb.c), so that
// a Decoder can read a DUMP payload as a Record.
func FrameKey(dst []byte, ver int, rdbType byte, key, raw []byte) []byte {
	dst = append(dst, fmt.Sprintf("REDIS%04d", ver)...)
	dst = append(dst, rdbType)
	dst = appendFrameLen(dst, uint64(len(key)))
	dst = append(dst, key...)
	dst = append(dst, raw...)
	dst = append(dst, opEOF)
	return append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
}

// appendLen appends an RDB length: 6, 14, 32 or 64 bits (rdb.c, rdbSaveLen).
func appendFrameLen(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, 0x40|byte(n>>8), byte(n))
	case n <= 0xFFFFFFFF:
		return binary.BigEndian.AppendUint32(append(b, 0x80), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0x81), n)
}
