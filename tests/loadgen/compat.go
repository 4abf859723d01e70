package loadgen

import "slices"

// ServerVersion is the version of the server that a dataset or a workload must fit:
// what it lacks is left out. The zero value is the newest server (nothing left out).
type ServerVersion struct{ Major, Minor int }

// has reports whether the server has what came with major.minor.
func (v ServerVersion) has(major, minor int) bool {
	if v.Major == 0 {
		return true
	}
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// since gives the version that brought each workload command that came after 3.2
// (the Redis command reference's "Available since"); the others are older.
var since = map[string]ServerVersion{
	"UNLINK": {4, 0},
	"XADD":   {5, 0}, "XDEL": {5, 0}, "XTRIM": {5, 0}, "XGROUP": {5, 0}, "XACK": {5, 0}, "XCLAIM": {5, 0},
	"GETDEL": {6, 2}, "GETEX": {6, 2}, "COPY": {6, 2}, "LMOVE": {6, 2},
	"SETPXAT": {6, 2}, "SETSTRINGPXAT": {6, 2}, // SET ... PXAT
}

// commandsFor returns the commands of names that the server has, less skip.
func commandsFor(v ServerVersion, skip, names []string) []string {
	var out []string
	for _, n := range names {
		if s, ok := since[n]; (!ok || v.has(s.Major, s.Minor)) && !slices.Contains(skip, n) {
			out = append(out, n)
		}
	}
	return out
}
