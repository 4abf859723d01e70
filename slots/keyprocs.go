package slots

import "fmt"

// The key procedures below stand in for Redis's getkeys procedures (src/db.c) for
// the commands whose key specs are incomplete (SORT STORE, MIGRATE KEYS); Redis 7.0
// also falls back to them only for these.

// sortKeys: SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC]
// [ALPHA] [STORE destination]. The key, then the last STORE destination.
func sortKeys(args [][]byte, rs *[maxRanges]keyRange) int {
	rs[0] = keyRange{1, 1, 1}
	store := 0
	for i := 2; i < len(args); i++ {
		switch {
		case equalFold(args[i], "limit"):
			i += 2
		case equalFold(args[i], "get"), equalFold(args[i], "by"):
			i++
		case equalFold(args[i], "store") && i+1 < len(args):
			store = i + 1
			i++
		}
	}
	if store == 0 {
		return 1
	}
	rs[1] = keyRange{store, store, 1}
	return 2
}

// migrateKeys: MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw]
// [AUTH2 user pw] [KEYS key ...]. The key at 3, or the keys after KEYS when the key
// at 3 is empty.
func migrateKeys(c *CommandSpec, args [][]byte, rs *[maxRanges]keyRange) (int, error) {
	first, last := 3, 3
	for i := 6; i < len(args); i++ {
		switch {
		case equalFold(args[i], "auth"):
			i++
		case equalFold(args[i], "auth2"):
			i += 2
		case equalFold(args[i], "keys"):
			if len(args[3]) > 0 {
				return 0, fmt.Errorf("%w for %s: KEYS with a key at 3", ErrBadKeys, c.Name)
			}
			first, last = i+1, len(args)-1
			if first > last {
				return 0, nil
			}
			i = len(args)
		}
	}
	rs[0] = keyRange{first, last, 1}
	return 1, nil
}
