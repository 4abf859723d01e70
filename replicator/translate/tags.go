package translate

//go:generate go run gen_tags.go

// slotTag returns a hash tag (without braces) whose slot is slot.
func slotTag(slot int) string {
	if slot < 0 || slot*3+3 > len(tagTable) {
		return ""
	}
	return tagTable[slot*3 : slot*3+3]
}
