package translate

//go:generate go run gen_tags.go

// slotTag returns a hash tag (without braces) whose slot is slot.
func slotTag(slot int) string {
	if slot < 0 || slot*3+3 > len(tagTable) {
		return ""
	}
	return tagTable[slot*3 : slot*3+3]
}

// SlotTag returns a hash tag (without braces) whose slot is slot: a key containing
// "{"+SlotTag(s)+"}" lives in slot s. Empty for a slot out of range.
func SlotTag(slot int) string { return slotTag(slot) }
