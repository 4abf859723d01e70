// Package glob escapes literal text for Redis glob-style patterns (SCAN MATCH,
// KEYS): Redis's util.c, stringmatchlen, reads '*', '?' and '[' ... ']' as pattern
// syntax and a backslash as "the next byte is literal".
package glob

import "strings"

// Escape returns s with its glob characters ('*', '?', '[', ']', '\') escaped by a
// backslash, so that the pattern matches s itself; Escape(prefix)+"*" matches
// every key that starts with prefix.
func Escape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
