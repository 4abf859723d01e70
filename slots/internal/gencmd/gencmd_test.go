package gencmd

import (
	"strings"
	"testing"
)

// entry is one COMMAND entry (RESP2, as redis-server sends it) without key specs.
func entry(name, flag string) string {
	return "*10\r\n$" + itoa(len(name)) + "\r\n" + name + "\r\n:2\r\n*1\r\n+" + flag +
		"\r\n:1\r\n:1\r\n:1\r\n*0\r\n*0\r\n*0\r\n*0\r\n"
}

// one builds a COMMAND reply holding the entry and the containers that the
// additions extend.
func one(name, flag string) string {
	return "*3\r\n" + entry(name, flag) + entry("client", "stale") + entry("cluster", "stale")
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

const noDocs = "*0\r\n"

func TestParse(t *testing.T) {
	cmds, err := Parse([]byte(one("GETX", "readonly")), []byte(noDocs))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range cmds {
		found = found || c.Name == "getx"
	}
	if !found || len(cmds) != 3+len(Additions)-countSubs() {
		t.Fatalf("got %d commands", len(cmds))
	}
}

func countSubs() int {
	n := 0
	for _, a := range Additions {
		if strings.Contains(a.Name, "|") {
			n++
		}
	}
	return n
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, command, docs, want string
	}{
		{"truncated", one("get", "readonly")[:20], noDocs, "incomplete"},
		{"trailing", one("get", "readonly") + "+x\r\n", noDocs, "after the reply"},
		{"unknown flag", one("get", "shiny"), noDocs, "unknown command flag"},
		{"duplicate addition", one("hexpire", "write"), noDocs, "remove it from the additions"},
		{"error reply", "-ERR unknown command\r\n", noDocs, "error reply"},
		{"bad docs", one("get", "readonly"), "*1\r\n:1\r\n", "flat map"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.command), []byte(tc.docs))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestComplete(t *testing.T) {
	full := one("get", "readonly")
	for i := 0; i < len(full); i++ {
		if done, err := Complete([]byte(full[:i])); done || err != nil {
			t.Fatalf("prefix %d: done %v err %v", i, done, err)
		}
	}
	if done, err := Complete([]byte(full)); !done || err != nil {
		t.Fatalf("full: done %v err %v", done, err)
	}
	if _, err := Complete([]byte("?x\r\n")); err == nil {
		t.Fatal("want an error for a bad type")
	}
}
