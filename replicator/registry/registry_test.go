package registry

import (
	"strings"
	"testing"

	"github.com/xsync/xsync/replicator/verify"
)

func TestKeyIsLeftOutByVerify(t *testing.T) {
	if Key != verify.RegistryKey {
		t.Fatalf("registry.Key %q, verify.RegistryKey %q: verify would report the registry as an extra key", Key, verify.RegistryKey)
	}
}

func TestOthers(t *testing.T) {
	reg := []Entry{
		{InternalPrefix: "__a:", KeyPrefix: "a:", Sources: []Source{{Addr: "10.0.0.1:6379"}}},
		{InternalPrefix: "__b:", Owns: []string{"b:*"}},
		{InternalPrefix: "__me:"},
	}
	got := others(reg, []string{"__a:", "__me:", "__old:"}, "__me:")
	var names []string
	for _, e := range got {
		names = append(names, e.InternalPrefix)
	}
	if strings.Join(names, " ") != "__a: __b: __old:" {
		t.Fatalf("others: %v", names)
	}
	if !got[2].Unregistered || got[0].Unregistered {
		t.Errorf("unregistered flags: %+v", got)
	}
	if s := got[0].String(); !strings.Contains(s, `key_prefix="a:"`) || !strings.Contains(s, "10.0.0.1:6379") {
		t.Errorf("String: %s", s)
	}
	if !got[0].Owner().Owns([]byte("a:k")) || got[0].Owner().Owns([]byte("b:k")) || !got[1].Owner().Owns([]byte("b:k")) {
		t.Error("Owner")
	}
	for _, c := range []struct {
		kp   string
		want bool
	}{{"a:", true}, {"a:x:", true}, {"c:", false}, {"", false}} {
		if _, ok := Overlap(c.kp, got); ok != c.want {
			t.Errorf("Overlap(%q) = %v", c.kp, ok)
		}
	}
	if _, err := decode(map[string]string{"__x:": "not json"}); err == nil || !strings.Contains(err.Error(), "HDEL") {
		t.Errorf("decode of a bad field: %v", err)
	}
}
