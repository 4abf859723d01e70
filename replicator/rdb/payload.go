package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// AppendDumpPayload appends the DUMP/RESTORE payload of a value to dst: the
// type byte, the raw value bytes (Record.Raw), the RDB version as 2 bytes
// little-endian, and the CRC64 of all that, 8 bytes little-endian.
func AppendDumpPayload(dst []byte, rdbType byte, raw []byte, rdbVersion int) []byte {
	start := len(dst)
	dst = append(dst, rdbType)
	dst = append(dst, raw...)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(rdbVersion))
	return binary.LittleEndian.AppendUint64(dst, CRC64(0, dst[start:]))
}

// ErrPayload reports a DUMP payload that is too short or fails its checksum.
var ErrPayload = errors.New("xsync/rdb: bad DUMP payload")

// ParseDumpPayload splits a DUMP payload into type, raw value bytes and RDB
// version, checking the CRC64 (a zero checksum is accepted, as Redis does).
// The slices point into p.
func ParseDumpPayload(p []byte) (rdbType byte, raw []byte, rdbVersion int, err error) {
	if len(p) < 11 {
		return 0, nil, 0, fmt.Errorf("%w: %d bytes", ErrPayload, len(p))
	}
	n := len(p) - 8
	sum := binary.LittleEndian.Uint64(p[n:])
	if sum != 0 && sum != CRC64(0, p[:n]) {
		return 0, nil, 0, fmt.Errorf("%w: checksum", ErrPayload)
	}
	return p[0], p[1 : n-2], int(binary.LittleEndian.Uint16(p[n-2:])), nil
}
