package slots

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestKeyIndexesGetKeys compares KeyIndexes with what a real redis-server 7.0.15
// answered to COMMAND GETKEYS for the same arguments (testdata/getkeys-7.0.15.txt).
// Where Redis answers an error (no keys, or GETKEYS's own arity), KeyIndexes must
// find no key.
func TestKeyIndexesGetKeys(t *testing.T) {
	f, err := os.Open("testdata/getkeys-7.0.15.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		cmd, want, ok := strings.Cut(line, " =>")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		n++
		t.Run(cmd, func(t *testing.T) {
			args := quotedArgs(t, cmd)
			idx, err := KeyIndexes(args, nil)
			if err != nil {
				t.Fatalf("KeyIndexes: %v", err)
			}
			var got []string
			for _, i := range idx {
				got = append(got, string(args[i]))
			}
			want = strings.TrimSpace(want)
			if strings.HasPrefix(want, "ERR ") {
				if len(got) != 0 {
					t.Errorf("keys %q, Redis says %s", got, want)
				}
				return
			}
			if g := strings.Join(got, " "); g != want {
				t.Errorf("keys %q, Redis says %q", g, want)
			}
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("only %d cases", n)
	}
}

// quotedArgs splits a line on spaces, keeping "double quoted" arguments whole.
func quotedArgs(t *testing.T, s string) [][]byte {
	t.Helper()
	var args [][]byte
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				t.Fatalf("unterminated quote in %q", s)
			}
			args = append(args, []byte(s[1:1+end]))
			s = s[end+2:]
			continue
		}
		word, rest, _ := strings.Cut(s, " ")
		args = append(args, []byte(word))
		s = rest
	}
	return args
}

func TestKeyIndexes(t *testing.T) {
	tests := []struct {
		args string
		want []int
	}{
		// Commands newer than the capture (hand-written specs).
		{"HEXPIRE h 10 FIELDS 2 a b", []int{1}},
		{"HPEXPIRE h 10 NX FIELDS 1 a", []int{1}},
		{"HEXPIREAT h 10 FIELDS 1 a", []int{1}},
		{"HPEXPIREAT h 10 FIELDS 1 a", []int{1}},
		{"HPERSIST h FIELDS 1 a", []int{1}},
		{"HTTL h FIELDS 1 a", []int{1}},
		{"HPTTL h FIELDS 1 a", []int{1}},
		{"HEXPIRETIME h FIELDS 1 a", []int{1}},
		{"HPEXPIRETIME h FIELDS 1 a", []int{1}},
		{"HGETDEL h FIELDS 1 a", []int{1}},
		{"HGETEX h EX 10 FIELDS 1 a", []int{1}},
		{"HSETEX h EX 10 FIELDS 1 a b", []int{1}},
		{"WAITAOF 1 0 0", nil},
		{"CLIENT NO-TOUCH on", nil},
		// Forms worth naming, beyond the GETKEYS capture.
		{"MSET a 1 b 2 c 3 d 4", []int{1, 3, 5, 7}},
		{"BLPOP a b c d 0", []int{1, 2, 3, 4}},
		{"EVAL s 3 a b c x y", []int{3, 4, 5}},
		{"EVAL s 0", nil},
		{"ZUNIONSTORE d 3 a b c AGGREGATE MAX", []int{1, 3, 4, 5}},
		{"XREAD COUNT 1 STREAMS a b c 0 0 0", []int{4, 5, 6}},
		{"XREADGROUP GROUP g c STREAMS a b > >", []int{5, 6}},
		{"MIGRATE h p \"\" 0 10 KEYS a b", []int{7, 8}},
		{"MIGRATE h p a 0 10 COPY", []int{3}},
		{"SORT a BY x LIMIT 0 1 GET store STORE d", []int{1, 10}},
		{"GEORADIUS a 1 2 3 km STOREDIST d", []int{1, 7}},
		// 7.2+ take PFMERGE with the destination only (its source keys are
		// optional there; the 7.0 table has arity -2 already).
		{"PFMERGE d", []int{1}},
		{"PFMERGE d a b", []int{1, 2, 3}},
		{"SPUBLISH ch m", nil},
		{"PING", nil},
		{"SELECT 3", nil},
	}
	for _, tc := range tests {
		t.Run(tc.args, func(t *testing.T) {
			args := quotedArgs(t, tc.args)
			got, err := KeyIndexes(args, make([]int, 0, 8))
			if err != nil {
				t.Fatal(err)
			}
			if !equalInts(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestKeyIndexesErrors(t *testing.T) {
	tests := []struct {
		args string
		err  error
	}{
		{"", ErrNoCommand},
		{"NOSUCH a b", ErrUnknownCommand},
		{"XGROUP", ErrWrongArity},
		{"XGROUP NOPE a", ErrUnknownCommand},
		{"GET", ErrWrongArity},
		{"GET a b", ErrWrongArity},
		{"MSET a", ErrWrongArity},
		{"EVAL s 3 a b", ErrBadKeys},
		{"EVAL s -1 a", ErrBadKeys},
		{"EVAL s x a", ErrBadKeys},
		{"EVAL s 01 a", ErrBadKeys},
		{"EVAL s 99999999999 a", ErrBadKeys},
		{"EVALSHA s 2 a", ErrBadKeys},
		{"FCALL f 5 a", ErrBadKeys},
		{"ZUNIONSTORE d 3 a b", ErrBadKeys},
		{"ZINTERSTORE d x a b", ErrBadKeys},
		{"SINTERCARD 3 a b", ErrBadKeys},
		{"LMPOP 3 a LEFT", ErrBadKeys},
		{"BLMPOP 0 5 a b LEFT", ErrBadKeys},
		{"ZMPOP 4 a b MIN", ErrBadKeys},
		{"BZMPOP 0 5 a b c MIN", ErrBadKeys},
		{"XREAD STREAMS a", ErrWrongArity},
		{"XREAD COUNT 1 STREAMS a", ErrBadKeys},
		{"MIGRATE h p a 0 10 KEYS b", ErrBadKeys},
		{"HEXPIRE h 10 FIELDS", ErrWrongArity},
	}
	for _, tc := range tests {
		t.Run(tc.args, func(t *testing.T) {
			args := splitArgs(tc.args)
			got, err := KeyIndexes(args, nil)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v (keys %v)", err, tc.err, got)
			}
			if len(got) != 0 {
				t.Errorf("keys %v with an error", got)
			}
			if _, _, err := SameSlot(args); !errors.Is(err, tc.err) {
				t.Errorf("SameSlot err %v, want %v", err, tc.err)
			}
		})
	}
}

func TestSameSlot(t *testing.T) {
	tests := []struct {
		args string
		slot int
		ok   bool
	}{
		{"PING", -1, true},
		{"SET foo 1", 12182, true},
		{"MSET {u}a 1 {u}b 2", SlotString("u"), true},
		{"MSET foo 1 bar 2", 12182, false},
		{"DEL {t}x {t}y {t}z", SlotString("t"), true},
		{"EVAL s 2 {t}x {t}y a", SlotString("t"), true},
		{"EVAL s 0 foo", -1, true},
		{"SPUBLISH foo m", 12182, true},
		{"SSUBSCRIBE foo bar", 12182, false},
		{"PUBLISH foo m", -1, true},
		{"RENAME foo bar", 12182, false},
		{"XGROUP CREATE foo g $", 12182, true},
	}
	for _, tc := range tests {
		t.Run(tc.args, func(t *testing.T) {
			slot, ok, err := SameSlot(splitArgs(tc.args))
			if err != nil {
				t.Fatal(err)
			}
			if slot != tc.slot || ok != tc.ok {
				t.Errorf("got (%d, %v), want (%d, %v)", slot, ok, tc.slot, tc.ok)
			}
		})
	}
}

func TestKeyIndexesAllocs(t *testing.T) {
	dst := make([]int, 0, 16)
	for _, cmd := range []string{
		"SET k v", "MSET a 1 b 2 c 3", "EVAL s 2 a b", "XREADGROUP GROUP g c STREAMS a b > >",
		"SORT a STORE d", "XGROUP CREATE k g $", "BLPOP a b 0", "MIGRATE h p \"\" 0 1 KEYS a b",
	} {
		args := quotedArgs(t, cmd)
		if n := testing.AllocsPerRun(100, func() { _, _ = KeyIndexes(args, dst) }); n != 0 {
			t.Errorf("KeyIndexes(%s) allocates %v times", cmd, n)
		}
		if n := testing.AllocsPerRun(100, func() { _, _, _ = SameSlot(args) }); n != 0 {
			t.Errorf("SameSlot(%s) allocates %v times", cmd, n)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzKeyIndexes(f *testing.F) {
	for _, s := range []string{
		"SET k v", "MSET a 1 b 2", "EVAL s 2 a b", "EVAL s 9 a", "XREAD STREAMS a b 0 0",
		"XREADGROUP GROUP g c STREAMS a >", "SORT a BY b STORE", "MIGRATE h p \x00 0 1 KEYS a",
		"GEORADIUS a 1 2 3 km STORE", "ZUNIONSTORE d -1 a", "XGROUP CREATE k g $", "BLMPOP 0 1 a LEFT",
		"XINFO STREAM", "HEXPIRE h 1 FIELDS 1 a",
	} {
		f.Add(strings.ReplaceAll(s, " ", "\x00"))
	}
	f.Fuzz(func(t *testing.T, s string) {
		var args [][]byte
		if s != "" {
			for _, a := range strings.Split(s, "\x00") {
				args = append(args, []byte(a))
			}
		}
		idx, err := KeyIndexes(args, nil)
		if err != nil && len(idx) != 0 {
			t.Fatalf("keys %v with error %v", idx, err)
		}
		for _, i := range idx {
			if i < 1 || i >= len(args) {
				t.Fatalf("index %d out of %d args", i, len(args))
			}
		}
		slot, ok, err2 := SameSlot(args)
		if (err == nil) != (err2 == nil) && !errors.Is(err2, ErrBadKeys) {
			t.Fatalf("KeyIndexes err %v, SameSlot err %v", err, err2)
		}
		if err2 == nil && (slot < -1 || slot >= NumSlots || (len(idx) == 0 && slot != -1 && ok && !hasNotKey(args))) {
			t.Fatalf("slot %d ok %v for keys %v", slot, ok, idx)
		}
	})
}

func hasNotKey(args [][]byte) bool {
	c, err := Lookup(args)
	if err != nil {
		return false
	}
	for _, ks := range c.KeySpecs {
		if ks.Flags.Has(KeyNotKey) {
			return true
		}
	}
	return false
}

func BenchmarkKeyIndexes(b *testing.B) {
	for _, cmd := range []string{"SET k v", "MSET a 1 b 2 c 3", "EVAL s 2 a b x", "XGROUP CREATE k g $"} {
		args := splitArgs(cmd)
		dst := make([]int, 0, 8)
		b.Run(strings.Fields(cmd)[0], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				dst, _ = KeyIndexes(args, dst)
			}
		})
	}
}

func BenchmarkSameSlot(b *testing.B) {
	args := splitArgs("MSET {u}a 1 {u}b 2 {u}c 3")
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = SameSlot(args)
	}
}
