package rdb

import "strconv"

// RDB object type bytes (rdb.h). The value that follows a type byte in an RDB
// file, or in a DUMP payload, is encoded as the type says.
const (
	TypeString              = 0  // a string: length-prefixed, int-encoded or LZF
	TypeList                = 1  // linked list: count, then strings
	TypeSet                 = 2  // hashtable set: count, then strings
	TypeZSet                = 3  // skiplist zset, scores as length-prefixed strings
	TypeHash                = 4  // hashtable hash: count, then field/value strings
	TypeZSet2               = 5  // skiplist zset, scores as binary float64 (RDB 8+)
	TypeModulePreGA         = 6  // module value of 4.0 release candidates (refused)
	TypeModule2             = 7  // module value: 64-bit module id, then opcode-tagged values
	TypeHashZipmap          = 9  // hash as a zipmap (Redis < 2.6)
	TypeListZiplist         = 10 // list as a ziplist
	TypeSetIntset           = 11 // set as an intset
	TypeZSetZiplist         = 12 // zset as a ziplist of member/score
	TypeHashZiplist         = 13 // hash as a ziplist of field/value
	TypeListQuicklist       = 14 // list as ziplist nodes (3.2 - 6.2)
	TypeStreamListpacks     = 15 // stream v1 (5.0 - 6.2)
	TypeHashListpack        = 16 // hash as a listpack (7.0+)
	TypeZSetListpack        = 17 // zset as a listpack (7.0+)
	TypeListQuicklist2      = 18 // list as PLAIN/PACKED listpack nodes (7.0+)
	TypeStreamListpacks2    = 19 // stream v2: first id, max deleted id, entries added, entries read (7.0+)
	TypeSetListpack         = 20 // set as a listpack (7.2+)
	TypeStreamListpacks3    = 21 // stream v3: consumers' active time (7.2+)
	TypeHashMetadataPreGA   = 22 // hash with field expires, 7.4 release candidates
	TypeHashListpackExPreGA = 23 // listpack hash with field expires, 7.4 release candidates
	TypeHashMetadata        = 24 // hash with field expires, min expire first (7.4+)
	TypeHashListpackEx      = 25 // listpack hash with field expires, min expire first (7.4+)
)

// RDB opcodes: bytes that take the place of a type byte and are not keys.
const (
	opSlotInfo      = 244 // slot id, slot size, expires slot size (lengths)
	opFunction2     = 245 // function library: one string (the code)
	opFunctionPreGA = 246 // function of 7.0 release candidates
	opModuleAux     = 247 // module id, when-opcode, when, module opcodes until EOF
	opIdle          = 248 // LRU idle seconds (length)
	opFreq          = 249 // LFU frequency (one byte)
	opAux           = 250 // aux field: two strings
	opResizeDB      = 251 // db size, expires size (lengths)
	opExpireTimeMS  = 252 // expire: 8-byte little-endian unix ms
	opExpireTime    = 253 // expire: 4-byte little-endian unix seconds
	opSelectDB      = 254 // db number (length)
	opEOF           = 255 // end; then an 8-byte CRC64 (RDB 5+)
)

// Kind is the kind of a Record.
type Kind uint8

// Record kinds.
const (
	KindKey       Kind = iota // a key and its value
	KindAux                   // an aux field (AuxKey, AuxValue); "lua" fields are KindScript
	KindScript                // a Lua script body kept by 4.0-era masters (aux "lua")
	KindFunction              // a function library (FUNCTION2, or FUNCTION of 7.0 rc)
	KindModuleAux             // module aux data (ModuleID, Raw)
	KindSlotInfo              // cluster slot info (Slot, SlotSize, SlotExpires)
	KindResizeDB              // RESIZEDB hint (DBSize, ExpiresSize)
)

// ValueType is the Redis type of a key.
type ValueType uint8

// Value types.
const (
	ValueString ValueType = iota
	ValueList
	ValueSet
	ValueZSet
	ValueHash
	ValueStream
	ValueModule
)

var valueTypeNames = [...]string{"string", "list", "set", "zset", "hash", "stream", "module"}

// String returns the name TYPE prints ("string", "list", ...).
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return "unknown"
}

// ValueTypeOf maps an RDB type byte to its value type; ok is false for an
// unknown byte.
func ValueTypeOf(rdbType byte) (t ValueType, ok bool) {
	switch rdbType {
	case TypeString:
		return ValueString, true
	case TypeList, TypeListZiplist, TypeListQuicklist, TypeListQuicklist2:
		return ValueList, true
	case TypeSet, TypeSetIntset, TypeSetListpack:
		return ValueSet, true
	case TypeZSet, TypeZSet2, TypeZSetZiplist, TypeZSetListpack:
		return ValueZSet, true
	case TypeHash, TypeHashZipmap, TypeHashZiplist, TypeHashListpack,
		TypeHashMetadataPreGA, TypeHashListpackExPreGA, TypeHashMetadata, TypeHashListpackEx:
		return ValueHash, true
	case TypeStreamListpacks, TypeStreamListpacks2, TypeStreamListpacks3:
		return ValueStream, true
	case TypeModule2:
		return ValueModule, true
	}
	return 0, false
}

// TypeMinVersion returns the first RDB version that knows rdbType (0 when unknown).
// A DUMP payload of that type may be labelled with any version from this one on.
func TypeMinVersion(rdbType byte) int {
	switch {
	case rdbType <= TypeHash:
		return 1
	case rdbType == TypeZSet2, rdbType == TypeModule2:
		return 8
	case rdbType >= TypeHashZipmap && rdbType <= TypeHashZiplist:
		return 2
	case rdbType == TypeListQuicklist:
		return 7
	case rdbType == TypeStreamListpacks:
		return 9
	case rdbType >= TypeHashListpack && rdbType <= TypeStreamListpacks2:
		return 10
	case rdbType == TypeSetListpack, rdbType == TypeStreamListpacks3:
		return 11
	case rdbType >= TypeHashMetadataPreGA && rdbType <= TypeHashListpackEx:
		return 12
	}
	return 0
}

// Record is one item of an RDB file. The decoder reuses one Record: it and
// every slice it holds are valid until the next call to Decoder.Next.
type Record struct {
	Kind Kind
	// DB is the database selected when the record was read.
	DB int
	// Offset is the byte offset in the RDB of the record's first byte.
	Offset int64

	// Key fields (KindKey).
	// ValueOffset is the byte offset of the value's first byte.
	ValueOffset int64
	Key         []byte
	Type        ValueType
	RDBType     byte  // the RDB type byte of the value
	ExpireAt    int64 // absolute unix ms; 0 = no expire
	Idle        int64 // LRU idle seconds; -1 unknown
	Freq        int   // LFU counter; -1 unknown
	// Raw holds the value's serialized bytes exactly as in the RDB (without the
	// type byte) when they are not over Options.RawLimit; nil otherwise.
	// AppendDumpPayload turns them into a DUMP payload.
	Raw []byte
	// Empty is set when the value holds no element (Redis skips such keys at load).
	// It is only known for values held in Raw.
	Empty bool

	// KindAux / KindScript: AuxKey is the aux name ("lua" for scripts), AuxValue
	// the value (the script body for scripts).
	AuxKey, AuxValue []byte
	// KindFunction: FuncName is the library name (from the "#!lua name=" line
	// for FUNCTION2), FuncCode the code.
	FuncName, FuncCode []byte
	// KindModuleAux and module values: ModuleID is the 64-bit module type id;
	// ModuleName its 9-character name.
	ModuleID   uint64
	ModuleName string
	// KindModuleAux: ModuleWhen is when the aux was saved (before/after keys).
	ModuleWhen uint64
	// KindSlotInfo.
	Slot, SlotSize, SlotExpires uint64
	// KindResizeDB.
	DBSize, ExpiresSize uint64

	d        *Decoder
	iterated bool
}

// StreamID is a stream entry id.
type StreamID struct{ Ms, Seq uint64 }

// String formats the id as Redis does ("ms-seq").
func (id StreamID) String() string {
	return string(id.Append(nil))
}

// Append appends "ms-seq" to dst.
func (id StreamID) Append(dst []byte) []byte {
	dst = strconv.AppendUint(dst, id.Ms, 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, id.Seq, 10)
}

// StreamEntry is one stream entry; Fields alternates field and value.
type StreamEntry struct {
	ID     StreamID
	Fields [][]byte
}

// StreamMeta is a stream's metadata; it arrives after all its entries.
type StreamMeta struct {
	Length       uint64
	LastID       StreamID
	FirstID      StreamID // v2+
	MaxDeletedID StreamID // v2+
	EntriesAdded uint64   // v2+
	V2           bool     // FirstID, MaxDeletedID, EntriesAdded and groups' EntriesRead are known
	Groups       uint64   // number of consumer groups that follow
}

// PendingEntry is one entry of a consumer group's PEL.
type PendingEntry struct {
	ID            StreamID
	Consumer      []byte // owning consumer; nil when no consumer claims it
	DeliveryTime  int64  // unix ms of the last delivery
	DeliveryCount uint64
}

// Consumer is one consumer of a group.
type Consumer struct {
	Name       []byte
	SeenTime   int64 // unix ms
	ActiveTime int64 // unix ms; -1 unknown (before stream v3)
	Pending    int   // number of PEL entries it owns
}

// StreamGroup is a consumer group with its whole PEL and consumers. The PEL is
// in id order.
type StreamGroup struct {
	Name        []byte
	LastID      StreamID
	EntriesRead int64 // -1 unknown
	PEL         []PendingEntry
	Consumers   []Consumer
}

// Chunk is a bounded slice of a value's elements, handed to the function given
// to Record.Elements. Only the fields of the value's type are set. The chunk
// and every slice in it are valid only during that call.
type Chunk struct {
	// Str is the next piece of a string value (or a module value's raw bytes).
	Str []byte
	// Items are list elements, set members, zset members or hash fields, in RDB order.
	Items [][]byte
	// Values are hash values: Values[i] belongs to Items[i].
	Values [][]byte
	// Scores are zset scores: Scores[i] belongs to Items[i].
	Scores []float64
	// FieldExpires are hash fields' absolute expire times in unix ms (0 = none);
	// set only for the 7.4 hash types.
	FieldExpires []int64
	// Entries are stream entries in id order (deleted ones left out).
	Entries []StreamEntry
	// Stream is set on the chunk carrying the stream's metadata (after every entry).
	Stream *StreamMeta
	// Group is set on a chunk carrying one consumer group (after Stream).
	Group *StreamGroup
}

// Len returns the number of elements in the chunk.
func (c *Chunk) Len() int { return len(c.Items) + len(c.Entries) }
