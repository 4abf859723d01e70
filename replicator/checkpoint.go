package replicator

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/xsync/xsync/internal/glob"
	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/translate"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// Checkpoints: exactly once across restarts.
//
// The applied position of the source is stored in the destination, atomically with
// the writes it covers: one key per destination slot,
//
//	<prefix>ckpt:{<tag>}   value "<replid> <offset> <db>"
//
// where <tag> hashes to the slot, so the key lives in the slot it describes, moves
// with it when the destination is resharded, and can share a MULTI with the slot's
// writes (Redis Cluster refuses a MULTI whose keys span slots, even on one node).
// Every operation of the stream is sent as
//
//	MULTI, <the operation>, SET <ckpt of its slot> "<replid> <offset> <db>", EXEC
//
// (an operation that is a transaction already gets the SET before its EXEC), so a
// slot's checkpoint says exactly which commands of the stream the slot holds. When a
// full sync ends, every slot the shard owns gets the snapshot's offset.
//
// Assignments travel without a checkpoint: SET key value (also with PXAT or EXAT,
// an absolute expiry), DEL and UNLINK set their keys to a state given in full,
// whatever the keys held, so applying such an op again after it ran, or after
// other assignments that ran after it, leaves the same state (see bareOp). Only
// the other ops (INCR, RPUSH, SET NX, EXPIRE, transactions, ...) move their
// slot's checkpoint. A slot's checkpoint then says which of its non-assignment
// commands the slot holds, and nothing about the assignments after it:
//
//   - A slot's ops reach the destination in stream order on one connection, so
//     the ops it ran form a prefix of the slot's ops; the ops after the slot's
//     checkpoint that ran are assignments only (a later non-assignment would have
//     moved the checkpoint). Replaying them, then the rest, gives the state of
//     applying everything once.
//   - An op whose reply was lost is rechecked by its checkpoint; an assignment,
//     which carries none, is re-sent, unless a later op of its slot written on the
//     same connection was found applied (the applier infers it ran then).
//
// What the destination may show during such a replay is an older value of a key
// for the moment between the replayed assignment and the later one.
//
// On start the checkpoints of a shard's slots give where to resume: PSYNC with the
// newest replid and the smallest offset; the commands between that offset and a
// slot's own checkpoint are dropped for that slot, so nothing is applied twice. When
// a shard's slots lack checkpoints, or the source's backlog no longer holds the
// offset, the shard syncs in full; its slots are emptied first (and their
// checkpoints removed), so keys deleted on the source meanwhile do not survive.

// Slots that see no write keep an old checkpoint, so resuming from the smallest
// slot checkpoint could reach far back. Each shard therefore also keeps a
// watermark, in the first slot it owns:
//
//	<prefix>wm:{<tag>}   value "<replid> <offset> <db> <ranges>"
//
// written every few seconds (outside any transaction) with the offset up to which
// every operation of the shard is acknowledged. A slot whose checkpoint is below
// the watermark had no non-assignment operation between the two (that operation
// would have moved its checkpoint), and its assignments there are applied, so the
// shard resumes from the larger of the watermark and the smallest slot
// checkpoint. <ranges> must equal the shard's slots for the watermark to count.
// Slots that see only assignments keep old checkpoints too: the watermark is what
// keeps the resume point recent.

// ckpt is one slot's checkpoint.
type ckpt struct {
	replID string
	offset int64
	db     int
}

func (c ckpt) encode() string {
	return c.replID + " " + strconv.FormatInt(c.offset, 10) + " " + strconv.Itoa(c.db)
}

func parseCkpt(b []byte) (ckpt, error) {
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return ckpt{}, fmt.Errorf("xsync/replicator: checkpoint %q: want \"<replid> <offset> <db>\"", b)
	}
	off, err1 := strconv.ParseInt(f[1], 10, 64)
	db, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || off < 0 || db < 0 {
		return ckpt{}, fmt.Errorf("xsync/replicator: checkpoint %q: bad offset or db", b)
	}
	return ckpt{replID: f[0], offset: off, db: db}, nil
}

// ckptKeys holds the checkpoint key name of every slot, built once.
type ckptKeys [slots.NumSlots][]byte

func newCkptKeys(prefix string) *ckptKeys {
	var k ckptKeys
	for s := range k {
		k[s] = []byte(prefix + "ckpt:{" + translate.SlotTag(s) + "}")
	}
	return &k
}

// wmKey is the name of the watermark of a shard whose first slot is slot.
func wmKey(prefix string, slot int) []byte {
	return []byte(prefix + "wm:{" + translate.SlotTag(slot) + "}")
}

// rangesString renders ranges as "0-5460,10923-16383".
func rangesString(rs []slots.Range) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d-%d", r.Start, r.End)
	}
	return b.String()
}

// watermark is a shard's watermark as read back.
type watermark struct {
	ckpt
	ranges string
}

func parseWatermark(b []byte) (watermark, error) {
	f := strings.Fields(string(b))
	if len(f) != 4 {
		return watermark{}, fmt.Errorf("xsync/replicator: watermark %q: want \"<replid> <offset> <db> <ranges>\"", b)
	}
	c, err := parseCkpt([]byte(strings.Join(f[:3], " ")))
	if err != nil {
		return watermark{}, err
	}
	return watermark{ckpt: c, ranges: f[3]}, nil
}

var (
	multiCmd = resp.AppendCommandString(nil, "MULTI")
	execCmd  = resp.AppendCommandString(nil, "EXEC")
)

// plainSetPrefix starts a SET with exactly a key and a value.
var plainSetPrefix = []byte("*3\r\n$3\r\nSET\r\n")

// isPlainSet reports whether cmd starts as a SET of exactly a key and a value
// (any letter case); op.N says it is the op's only command.
func isPlainSet(cmd []byte) bool {
	p := plainSetPrefix
	if len(cmd) <= len(p) || !bytes.Equal(cmd[:8], p[:8]) || !bytes.EqualFold(cmd[8:11], p[8:11]) {
		return false
	}
	return cmd[11] == '\r' && cmd[12] == '\n'
}

// bareOp reports whether cmd, an op's only command (op.N == 1: the caller
// checks), is an assignment that
// travels without a checkpoint (see the top of this file): SET key value, SET key
// value PXAT|EXAT t, DEL key..., UNLINK key.... args is a buffer for the parse,
// returned for reuse. SET with NX, XX, GET, KEEPTTL or a relative expiry
// depends on what the key held or on when it runs: it keeps its checkpoint.
func bareOp(cmd []byte, args [][]byte) (bool, [][]byte) {
	if len(cmd) < 4 || cmd[0] != '*' {
		return false, args
	}
	if isPlainSet(cmd) && bytes.HasSuffix(cmd, []byte("\r\n")) {
		return true, args // the most common op, without a parse
	}
	a, n, err := resp.ParseCommand(cmd, args[:0], nil)
	if err != nil || n != len(cmd) || len(a) < 2 {
		return false, a
	}
	switch {
	case len(a[0]) == 3 && bytes.EqualFold(a[0], []byte("SET")):
		if len(a) == 3 {
			return true, a
		}
		return len(a) == 5 && (bytes.EqualFold(a[3], []byte("PXAT")) || bytes.EqualFold(a[3], []byte("EXAT"))), a
	case bytes.EqualFold(a[0], []byte("DEL")), bytes.EqualFold(a[0], []byte("UNLINK")):
		return true, a
	}
	return false, a
}

// wrapWithCkpt returns op's commands followed by the SET of the slot's
// checkpoint, inside one MULTI/EXEC, appended to dst; and the number of commands.
// A plain SET (no options) becomes one MSET of the key and the checkpoint
// instead: atomic too (both keys are in the op's slot), with the same effect on
// the key (value set, TTL removed), and one command for the destination instead
// of four.
func wrapWithCkpt(dst []byte, op apply.Op, key []byte, value []byte) ([]byte, int) {
	if op.N == 1 && isPlainSet(op.Cmd) {
		dst = append(dst, "*5\r\n$4\r\nMSET\r\n"...)
		dst = append(dst, op.Cmd[len(plainSetPrefix):]...)
		dst = resp.AppendBulk(dst, key)
		dst = resp.AppendBulk(dst, value)
		return dst, 1
	}
	n := op.N
	if bytes.HasPrefix(op.Cmd, multiCmd) && bytes.HasSuffix(op.Cmd, execCmd) {
		dst = append(dst, op.Cmd[:len(op.Cmd)-len(execCmd)]...)
	} else {
		dst = append(dst, multiCmd...)
		dst = append(dst, op.Cmd...)
		n += 2 // MULTI and EXEC
	}
	dst = resp.AppendArray(dst, 3)
	dst = resp.AppendBulkString(dst, "SET")
	dst = resp.AppendBulk(dst, key)
	dst = resp.AppendBulk(dst, value)
	dst = append(dst, execCmd...)
	return dst, n + 1
}

// readCheckpoints reads every checkpoint key from every destination master.
func readCheckpoints(ctx context.Context, a *apply.Applier, prefix string, keys *ckptKeys) (map[int]ckpt, error) {
	tbl := a.Table()
	if tbl == nil {
		return nil, fmt.Errorf("xsync/replicator: no destination slot table")
	}
	pattern := glob.Escape(prefix) + "ckpt:*"
	out := map[int]ckpt{}
	for _, sh := range tbl.Topology().Shards {
		if len(sh.Ranges) == 0 {
			continue
		}
		at := sh.Ranges[0].Start // any slot of the node routes the SCAN there
		cursor := "0"
		for {
			v, err := a.Do(ctx, at, []byte("SCAN"), []byte(cursor), []byte("MATCH"), []byte(pattern), []byte("COUNT"), []byte("1000"))
			if err != nil {
				return nil, fmt.Errorf("xsync/replicator: reading checkpoints from %s: %w", sh.Primary.Addr, err)
			}
			if len(v.Elems) != 2 {
				return nil, fmt.Errorf("xsync/replicator: reading checkpoints: unexpected SCAN reply %s", v.String())
			}
			cursor = string(v.Elems[0].Str)
			for _, k := range v.Elems[1].Elems {
				key := append([]byte(nil), k.Str...)
				slot := slots.Slot(key)
				if !bytes.Equal(key, keys[slot]) {
					continue // not one of ours (another prefix's, or a stray)
				}
				g, err := a.Do(ctx, slot, []byte("GET"), key)
				if err != nil {
					return nil, fmt.Errorf("xsync/replicator: reading checkpoint %s: %w", key, err)
				}
				if g.Null {
					continue
				}
				c, err := parseCkpt(g.Str)
				if err != nil {
					return nil, err
				}
				out[slot] = c
			}
			if cursor == "0" {
				break
			}
		}
	}
	return out, nil
}

// resumePoint decides where a shard owning ranges resumes, from the checkpoints
// and the shard's watermark (wm, zero when none): ok is false when a slot lacks a
// checkpoint (the shard must sync in full). The replid is the one of the newest
// checkpoint (offsets grow along a replication history, also across failovers),
// the offset and db those of the oldest, or of the watermark when it is newer.
func resumePoint(cks map[int]ckpt, ranges []slots.Range, wm watermark) (start ckpt, ok bool) {
	start, ok = slotsResumePoint(cks, ranges)
	if !ok {
		return start, false
	}
	if wm.ranges == rangesString(ranges) && wm.offset > start.offset {
		start.offset, start.db = wm.offset, wm.db
	}
	return start, true
}

func slotsResumePoint(cks map[int]ckpt, ranges []slots.Range) (start ckpt, ok bool) {
	first := true
	var newest int64 = -1
	for _, r := range ranges {
		for s := r.Start; s <= r.End; s++ {
			c, found := cks[s]
			if !found {
				return ckpt{}, false
			}
			if first || c.offset < start.offset {
				start.offset, start.db = c.offset, c.db
			}
			if c.offset > newest {
				newest, start.replID = c.offset, c.replID
			}
			first = false
		}
	}
	return start, !first
}

// carriedCkpt returns the offset of the checkpoint that cmd writes to key (the
// SET or MSET pair that submitCkpt or a full sync's end puts in an op), if it
// writes one.
func carriedCkpt(cmd, key []byte) (int64, bool) {
	var args [][]byte
	var off int64
	found := false
	for pos := 0; pos < len(cmd); {
		a, n, err := resp.ParseCommand(cmd[pos:], args[:0], nil)
		if err != nil || n == 0 {
			return 0, false
		}
		args = a
		pos += n
		if len(a) == 3 && bytes.EqualFold(a[0], []byte("SET")) && bytes.Equal(a[1], key) {
			if c, err := parseCkpt(a[2]); err == nil {
				off, found = c.offset, true
			}
		}
		if len(a) >= 3 && len(a)%2 == 1 && bytes.EqualFold(a[0], []byte("MSET")) {
			for i := 1; i+1 < len(a); i += 2 {
				if bytes.Equal(a[i], key) {
					if c, err := parseCkpt(a[i+1]); err == nil {
						off, found = c.offset, true
					}
				}
			}
		}
	}
	return off, found
}
