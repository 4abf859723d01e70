package translate

import (
	"time"

	"github.com/xsync/xsync/slots"
	"testing"
)

func TestKeyFilter(t *testing.T) {
	f, err := NewKeyFilter(Config{SourceKind: SourceStandalone, DBs: map[int]Target{0: {}, 3: {Prefix: "db3:"}},
		Include: []string{"user:*", "cfg"}, Exclude: []string{"user:tmp:*"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		db   int
		key  string
		want string
		ok   bool
	}{
		{0, "user:1", "user:1", true},
		{3, "user:1", "db3:user:1", true},
		{3, "cfg", "db3:cfg", true},
		{4, "user:1", "", false},
		{0, "user:tmp:1", "", false},
		{0, "other", "", false},
		{0, "__xsync:ckpt", "", false},
		{-1, "user:1", "", false},
	} {
		got, ok := f.Target(nil, c.db, []byte(c.key))
		if ok != c.ok || ok && string(got) != c.want {
			t.Errorf("Target(%d, %q) = %q, %v; want %q, %v", c.db, c.key, got, ok, c.want, c.ok)
		}
	}
	// The default for a standalone destination: every db to itself.
	f, err = NewKeyFilter(Config{SourceKind: SourceStandalone, DestKind: DestStandalone})
	if err != nil {
		t.Fatal(err)
	}
	if tg, ok := f.DB(9); !ok || tg.DB != 9 || tg.Prefix != "" {
		t.Errorf("DB(9) = %+v, %v", tg, ok)
	}
	// owner: a longer prefix of another db wins.
	f, _ = NewKeyFilter(Config{SourceKind: SourceStandalone, DBs: map[int]Target{0: {Prefix: "a:"}, 1: {Prefix: "a:b:"}}})
	if _, ok := f.owner([]byte("a:b:x"), []byte("a:")); ok {
		t.Error("a:b:x belongs to db 1, not db 0")
	}
	if src, ok := f.owner([]byte("a:c"), []byte("a:")); !ok || string(src) != "c" {
		t.Errorf("owner(a:c) = %q, %v", src, ok)
	}
}

func TestSetSourceSlots(t *testing.T) {
	tr, err := New(Config{SourceSlots: allSlots()})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.SetSourceSlots([]slotsRange{{Start: 10, End: 5}}); err == nil {
		t.Error("bad range accepted")
	}
	if err := tr.SetSourceSlots([]slotsRange{{Start: 0, End: 99}}); err != nil {
		t.Fatal(err)
	}
	ops, err := tr.Translate(0, argv("FLUSHALL"), 5, time.Time{})
	if err != nil || len(ops) != 1 || ops[0].Barrier == nil {
		t.Fatalf("ops %v, err %v", ops, err)
	}
	if got, want := tr.descs[0], `FLUSHALL: delete prefix="" in source slots 0-99`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

type slotsRange = slots.Range
