// Package redisver holds Version, the version of a Redis server: apply detects the
// destination's (INFO server), and translate and snapshot choose command forms by it
// (SET PXAT from 6.2, RESTORE ABSTTL from 5.0, the DUMP payload versions it reads).
package redisver

import (
	"bytes"
	"fmt"
	"strconv"
)

// Version is a Redis server version. The zero Version is "unknown".
type Version struct{ Major, Minor, Patch int }

// Parse parses "7.0.15" (missing parts are 0).
func Parse(s string) (Version, error) {
	var v Version
	parts := bytes.SplitN([]byte(s), []byte("."), 3)
	dst := []*int{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		n, err := strconv.Atoi(string(p))
		if err != nil {
			return Version{}, fmt.Errorf("xsync/redisver: bad version %q", s)
		}
		*dst[i] = n
	}
	return v, nil
}

// AtLeast reports whether v is major.minor or later (the patch level is not
// looked at).
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// RDBVersion returns the RDB version the server writes and the newest DUMP
// payload version it accepts (Redis's rdb.h, RDB_VERSION).
func (v Version) RDBVersion() int {
	switch {
	case v.AtLeast(7, 4):
		return 12
	case v.AtLeast(7, 2):
		return 11
	case v.AtLeast(7, 0):
		return 10
	case v.AtLeast(5, 0):
		return 9
	case v.AtLeast(4, 0):
		return 8
	case v.AtLeast(3, 2):
		return 7
	case v.AtLeast(2, 6):
		return 6
	}
	return 5
}

// String returns "major.minor.patch".
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }
