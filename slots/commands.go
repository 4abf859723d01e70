package slots

//go:generate go run ./internal/gencommands -command testdata/command-7.0.15.resp -docs testdata/command-docs-7.0.15.resp -o commands_gen.go

// CommandFlags is the set of flags Redis reports for a command in the third element
// of its COMMAND reply (for example "write", "readonly", "denyoom").
type CommandFlags uint32

// Command flags, as Redis 7.0 names them in COMMAND.
const (
	FlagWrite           CommandFlags = 1 << iota // "write": may modify the keyspace
	FlagReadonly                                 // "readonly": reads keys, never writes them
	FlagDenyOOM                                  // "denyoom": may grow memory, refused when over maxmemory
	FlagModule                                   // "module": implemented by a module
	FlagAdmin                                    // "admin": administrative command
	FlagPubSub                                   // "pubsub": publish/subscribe command
	FlagNoScript                                 // "noscript": not allowed in scripts
	FlagBlocking                                 // "blocking": may block the client
	FlagLoading                                  // "loading": allowed while the dataset is loading
	FlagStale                                    // "stale": allowed on a replica with stale data
	FlagSkipMonitor                              // "skip_monitor": not shown in MONITOR
	FlagSkipSlowlog                              // "skip_slowlog": not shown in SLOWLOG
	FlagAsking                                   // "asking": allowed on an importing slot (cluster)
	FlagFast                                     // "fast": O(1) or O(log N)
	FlagNoAuth                                   // "no_auth": allowed before AUTH
	FlagMayReplicate                             // "may_replicate": may reach the replication stream without "write" (set by the generator: 7.0 COMMAND hides it)
	FlagNoMandatoryKeys                          // "no_mandatory_keys": keys are optional
	FlagNoAsyncLoading                           // "no_async_loading": refused during async loading
	FlagNoMulti                                  // "no_multi": refused inside MULTI
	FlagMovableKeys                              // "movablekeys": key positions depend on the arguments
	FlagAllowBusy                                // "allow_busy": allowed while a script is busy
)

var commandFlagNames = [...]string{
	"write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking",
	"loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth",
	"may_replicate", "no_mandatory_keys", "no_async_loading", "no_multi", "movablekeys",
	"allow_busy",
}

// Has reports whether every flag of x is set in f.
func (f CommandFlags) Has(x CommandFlags) bool { return f&x == x }

// String returns the flags as Redis names them, separated by spaces.
func (f CommandFlags) String() string {
	return flagString(uint32(f), commandFlagNames[:])
}

// KeySpecFlags is the set of flags of one key specification (Redis 7.0 key specs).
type KeySpecFlags uint16

// Key specification flags, as Redis 7.0 names them in COMMAND.
const (
	KeyRO            KeySpecFlags = 1 << iota // "RO": read only
	KeyRW                                     // "RW": read and write
	KeyOW                                     // "OW": overwrite without reading
	KeyRM                                     // "RM": remove the key
	KeyAccess                                 // "access": returns, copies or uses user data
	KeyUpdate                                 // "update": updates data in the value
	KeyInsert                                 // "insert": adds data to the value
	KeyDelete                                 // "delete": deletes data from the value
	KeyNotKey                                 // "not_key": not a key (a shard channel), left out of KeyIndexes
	KeyIncomplete                             // "incomplete": may not find every key (a key procedure does)
	KeyVariableFlags                          // "variable_flags": flags depend on the arguments
)

var keySpecFlagNames = [...]string{
	"RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key",
	"incomplete", "variable_flags",
}

// Has reports whether every flag of x is set in f.
func (f KeySpecFlags) Has(x KeySpecFlags) bool { return f&x == x }

// String returns the flags as Redis names them, separated by spaces.
func (f KeySpecFlags) String() string {
	return flagString(uint32(f), keySpecFlagNames[:])
}

func flagString(f uint32, names []string) string {
	s := ""
	for i, n := range names {
		if f&(1<<i) != 0 {
			if s != "" {
				s += " "
			}
			s += n
		}
	}
	return s
}

// BeginSearchType says how a key specification finds its first key.
type BeginSearchType uint8

// Begin-search types of a key specification.
const (
	BeginUnknown BeginSearchType = iota // "unknown": keys cannot be found from the spec alone
	BeginIndex                          // "index": the first key is at a fixed argument index
	BeginKeyword                        // "keyword": the first key follows a keyword
)

// BeginSearch is the begin_search part of a key specification.
type BeginSearch struct {
	Type BeginSearchType
	// Index is the argument index of the first key (BeginIndex).
	Index int
	// Keyword is the keyword that precedes the first key (BeginKeyword), matched
	// case-insensitively.
	Keyword string
	// StartFrom is where the keyword search starts (BeginKeyword): a positive index
	// searches forward, a negative one backward from the end.
	StartFrom int
}

// FindKeysType says how a key specification finds the keys after the first.
type FindKeysType uint8

// Find-keys types of a key specification.
const (
	FindUnknown FindKeysType = iota // "unknown"
	FindRange                       // "range": keys up to LastKey, every KeyStep
	FindKeynum                      // "keynum": an argument gives the number of keys
)

// FindKeys is the find_keys part of a key specification.
type FindKeys struct {
	Type FindKeysType
	// LastKey is the index of the last key relative to the first (FindRange); a
	// negative value counts from the end of the arguments (-1 is the last one).
	LastKey int
	// KeyStep is the distance between two keys (FindRange, FindKeynum).
	KeyStep int
	// Limit, when LastKey is -1, says that only 1/Limit of the remaining arguments are
	// keys (FindRange; XREAD STREAMS uses 2).
	Limit int
	// KeyNumIdx is the index of the number of keys relative to the first argument
	// found by BeginSearch (FindKeynum).
	KeyNumIdx int
	// FirstKey is the index of the first key relative to the first argument found
	// by BeginSearch (FindKeynum).
	FirstKey int
}

// KeySpec is one key specification of a command (Redis 7.0 "key specs").
type KeySpec struct {
	Flags KeySpecFlags
	Begin BeginSearch
	Find  FindKeys
	// Notes is Redis's own remark on the spec, if any.
	Notes string
}

// keyProc names a hand-written key finder for commands whose key specs do not say
// everything (Redis has a getkeys procedure for these).
type keyProc uint8

const (
	keyProcNone keyProc = iota
	keyProcSort
	keyProcMigrate
)

// CommandSpec describes one command or subcommand as Redis reports it in COMMAND
// (Redis 7.0.15), extended by hand for commands added in later versions.
//
// The specs returned by this package are shared: callers must not modify them.
type CommandSpec struct {
	// Name is the lower-case name; a subcommand is named "container|sub", as in
	// Redis 7.0 ("xgroup|create").
	Name string
	// Arity is the number of arguments including the command name (and the
	// subcommand name); a negative value -N means "at least N".
	Arity int
	// Flags are the command flags.
	Flags CommandFlags
	// FirstKey, LastKey and Step are the legacy key positions (COMMAND elements
	// 4 to 6): LastKey is negative when counted from the end.
	FirstKey, LastKey, Step int
	// KeySpecs are the key specifications (Redis 7.0).
	KeySpecs []KeySpec
	// Subcommands of a container command, sorted by name.
	Subcommands []CommandSpec
	// Write is Flags.Has(FlagWrite): the command may modify the keyspace.
	Write bool
	// Since is the first Redis version that knows the command ("2.0.0").
	Since string
	// Group is the command group of COMMAND DOCS ("string", "stream", "server", ...).
	Group string

	proc keyProc
}

// IsContainer reports whether the command only groups subcommands (XGROUP, CLIENT).
func (c *CommandSpec) IsContainer() bool { return len(c.Subcommands) > 0 }

// maxNameLen bounds the names looked up; longer names are unknown.
const maxNameLen = 32

// LookupCommand returns the spec of the command called name (case-insensitive), or
// nil when it is unknown. For a container command it returns the container; use
// Lookup to resolve the subcommand. It does not allocate.
func LookupCommand(name []byte) *CommandSpec {
	var buf [maxNameLen]byte
	lower, ok := lowerInto(&buf, name)
	if !ok {
		return nil
	}
	return searchCommand(lower)
}

// LookupCommandString is LookupCommand for a string name.
func LookupCommandString(name string) *CommandSpec {
	var buf [maxNameLen]byte
	if len(name) > maxNameLen {
		return nil
	}
	n := copy(buf[:], name)
	lower, _ := lowerInto(&buf, buf[:n])
	return searchCommand(lower)
}

// searchCommand finds a lower-case name in commandTable, searching only the
// commands with the same first letter.
func searchCommand(lower []byte) *CommandSpec {
	if len(lower) == 0 || lower[0] < 'a' || lower[0] > 'z' {
		return nil
	}
	i := lower[0] - 'a'
	return searchSpecs(commandTable[commandIndex[i]:commandIndex[i+1]], "", lower)
}

// Lookup returns the spec of the command in args, resolving the subcommand of a
// container command (args[1]). It returns an error when args is empty, the command
// or subcommand is unknown, or a container is called without a subcommand.
func Lookup(args [][]byte) (*CommandSpec, error) {
	if len(args) == 0 {
		return nil, ErrNoCommand
	}
	c := LookupCommand(args[0])
	if c == nil {
		return nil, ErrUnknownCommand
	}
	if !c.IsContainer() {
		return c, nil
	}
	if len(args) < 2 {
		return nil, ErrWrongArity
	}
	var buf [maxNameLen]byte
	lower, ok := lowerInto(&buf, args[1])
	if !ok {
		return nil, ErrUnknownCommand
	}
	sub := searchSpecs(c.Subcommands, c.Name, lower)
	if sub == nil {
		return nil, ErrUnknownCommand
	}
	return sub, nil
}

// IsWrite reports whether the command in args may modify the keyspace (its spec,
// or its subcommand's, has the "write" flag). Unknown commands are not writes.
func IsWrite(args [][]byte) bool {
	c, err := Lookup(args)
	return err == nil && c.Write
}

// lowerInto copies b into buf in ASCII lower case; ok is false when b is too long.
func lowerInto(buf *[maxNameLen]byte, b []byte) (lower []byte, ok bool) {
	if len(b) > maxNameLen {
		return nil, false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(b)], true
}

// searchSpecs finds prefix+"|"+name (or name when prefix is empty) in specs, which
// are sorted by name, with a binary search that does not allocate.
func searchSpecs(specs []CommandSpec, prefix string, name []byte) *CommandSpec {
	lo, hi := 0, len(specs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if compareName(specs[m].Name, prefix, name) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(specs) && compareName(specs[lo].Name, prefix, name) == 0 {
		return &specs[lo]
	}
	return nil
}

// compareName compares s with prefix+"|"+name (name alone when prefix is empty).
func compareName(s, prefix string, name []byte) int {
	if prefix != "" {
		if len(s) < len(prefix)+1 || s[:len(prefix)] != prefix || s[len(prefix)] != '|' {
			if s < prefix {
				return -1
			}
			return 1
		}
		s = s[len(prefix)+1:]
	}
	n := min(len(s), len(name))
	for i := 0; i < n; i++ {
		if s[i] != name[i] {
			if s[i] < name[i] {
				return -1
			}
			return 1
		}
	}
	return len(s) - len(name)
}
