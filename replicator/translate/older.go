package translate

// Command forms for destinations older than 4.0 (Redis 3.x), which lack two that
// newer masters propagate as clients sent them: UNLINK (4.0, lazyfree.c) and HSET
// with several field/value pairs (4.0, t_hash.c hsetCommand). Each has an exact
// equivalent there: DEL, which frees the value at once instead of in the
// background, and HMSET.
var (
	delName   = []byte("DEL")
	hmsetName = []byte("HMSET")
)

// olderForms rewrites args[0] in place (the element, never the caller's bytes) for a
// destination before 4.0 and returns the name the rest of the translation goes on
// with.
func (t *Translator) olderForms(args [][]byte, name string) string {
	if t.cfg.DestVersion.AtLeast(4, 0) {
		return name
	}
	switch name {
	case "unlink":
		args[0] = delName
		return "del"
	case "hset":
		if len(args) > 4 {
			args[0] = hmsetName
		}
	}
	return name
}
