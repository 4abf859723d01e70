package slots

import (
	"testing"
)

func TestCRC16(t *testing.T) {
	tests := []struct {
		in   string
		want uint16
	}{
		{"", 0},
		{"123456789", 0x31C3},
		{"a", 0x7C87},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := CRC16([]byte(tc.in)); got != tc.want {
				t.Errorf("CRC16(%q) = %#04x, want %#04x", tc.in, got, tc.want)
			}
			if got := crc16String(tc.in); got != tc.want {
				t.Errorf("crc16String(%q) = %#04x, want %#04x", tc.in, got, tc.want)
			}
		})
	}
}

func TestHashTag(t *testing.T) {
	tests := []struct{ key, tag string }{
		{"", ""},
		{"foo", "foo"},
		{"{user1000}.following", "user1000"},
		{"{user1000}.followers", "user1000"},
		{"foo{}{bar}", "foo{}{bar}"},
		{"foo{{bar}}zap", "{bar"},
		{"foo{bar}{zap}", "bar"},
		{"{", "{"},
		{"}{", "}{"},
		{"{a", "{a"},
		{"a}b{c}", "c"},
		{"{}", "{}"},
		{"x{y}", "y"},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			if got := string(HashTag([]byte(tc.key))); got != tc.tag {
				t.Errorf("HashTag(%q) = %q, want %q", tc.key, got, tc.tag)
			}
			if got := hashTagString(tc.key); got != tc.tag {
				t.Errorf("hashTagString(%q) = %q, want %q", tc.key, got, tc.tag)
			}
			want := int(CRC16([]byte(tc.tag)) % NumSlots)
			if got := Slot([]byte(tc.key)); got != want {
				t.Errorf("Slot(%q) = %d, want %d", tc.key, got, want)
			}
			if got := SlotString(tc.key); got != want {
				t.Errorf("SlotString(%q) = %d, want %d", tc.key, got, want)
			}
		})
	}
}

// TestSlotKnown checks slots that a real Redis 7.0 reports (CLUSTER KEYSLOT).
func TestSlotKnown(t *testing.T) {
	tests := []struct {
		key  string
		slot int
	}{
		{"", 0},
		{"foo", 12182},
		{"bar", 5061},
		{"123456789", 12739},
		{"{user1000}.following", 3443},
		{"{user1000}.followers", 3443},
		{"foo{}{bar}", 8363},
		{"foo{{bar}}zap", 4015},
		{"foo{bar}{zap}", 5061},
	}
	for _, tc := range tests {
		if got := SlotString(tc.key); got != tc.slot {
			t.Errorf("SlotString(%q) = %d, want %d", tc.key, got, tc.slot)
		}
	}
}

func TestSlotAllocs(t *testing.T) {
	key := []byte("{user1000}.following")
	skey := "{user1000}.following"
	if n := testing.AllocsPerRun(100, func() { _ = Slot(key) }); n != 0 {
		t.Errorf("Slot allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = SlotString(skey) }); n != 0 {
		t.Errorf("SlotString allocates %v times", n)
	}
}

func BenchmarkSlot(b *testing.B) {
	for _, key := range []string{"foo", "{user1000}.following", "user:1234567890:profile:settings:notifications"} {
		k := []byte(key)
		b.Run(key, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(k)))
			for b.Loop() {
				_ = Slot(k)
			}
		})
	}
}

func BenchmarkSlotString(b *testing.B) {
	key := "{user1000}.following"
	b.ReportAllocs()
	for b.Loop() {
		_ = SlotString(key)
	}
}
