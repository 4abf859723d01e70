package replicator

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/rdb"
	"github.com/xsync/xsync/replicator/snapshot"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// A RESTORE in the stream carries a DUMP payload in the source's RDB version. A
// destination older than the source refuses it ("DUMP payload version or checksum
// are wrong"), so such a RESTORE goes through the snapshot converter instead: it is
// relabelled for the destination when the value's encoding is one the destination
// knows, and rewritten as plain commands otherwise.

// payloadVersion returns the RDB version a DUMP payload is labelled with.
func payloadVersion(p []byte) int {
	if len(p) < 10 {
		return 0
	}
	return int(binary.LittleEndian.Uint16(p[len(p)-10:]))
}

// isRestore reports whether args is a RESTORE (or RESTORE-ASKING) whose payload
// the destination cannot read as it is.
func (s *shard) isNewerRestore(args [][]byte) bool {
	if len(args) < 4 || s.tr.InTransaction() {
		return false
	}
	name := args[0]
	if !bytes.EqualFold(name, []byte("RESTORE")) && !bytes.EqualFold(name, []byte("RESTORE-ASKING")) {
		return false
	}
	return payloadVersion(args[3]) > s.r.applier.Version().RDBVersion()
}

// restore applies a RESTORE command whose payload is newer than the destination.
func (s *shard) restore(ctx context.Context, db int, args [][]byte, offset int64, recv time.Time) error {
	key, ok := s.kf.Target(nil, db, args[1])
	if !ok {
		s.setHandled(offset, db)
		return nil
	}
	ttl, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil || ttl < 0 {
		return fmt.Errorf("xsync/replicator: shard %d: offset %d: RESTORE with a bad ttl %q", s.index, offset, args[2])
	}
	abs := false
	for _, a := range args[4:] {
		if strings.EqualFold(string(a), "ABSTTL") {
			abs = true
		}
	}
	rdbType, raw, ver, err := rdb.ParseDumpPayload(args[3])
	if err != nil {
		return fmt.Errorf("xsync/replicator: shard %d: offset %d: RESTORE %q: %w", s.index, offset, printable(args[1]), err)
	}
	dec := rdb.NewDecoder(bytes.NewReader(miniRDB(ver, rdbType, args[1], raw)), rdb.Options{})
	rec, err := dec.Next()
	if err != nil {
		return fmt.Errorf("xsync/replicator: shard %d: offset %d: RESTORE %q: %w", s.index, offset, printable(args[1]), err)
	}
	rec.Key, rec.DB = key, db
	switch {
	case ttl == 0:
		rec.ExpireAt = 0
	case abs:
		rec.ExpireAt = ttl
	default:
		rec.ExpireAt = recv.UnixMilli() + ttl
	}
	if s.restoreConv == nil {
		cc := s.conv.Options()
		cc.Replace = snapshot.ReplaceKey // the source accepted it: the key is replaced
		if s.restoreConv, err = snapshot.New(cc); err != nil {
			return err
		}
	}
	var selectDB []byte
	if tg, _ := s.kf.DB(db); s.r.applier.Standalone() && tg.DB != 0 {
		selectDB = resp.AppendCommand(nil, []byte("SELECT"), strconv.AppendInt(nil, int64(tg.DB), 10))
	}
	// Gather the key's commands: only the last batch carries the checkpoint, so
	// a crash in the middle replays the whole key (which starts with DEL).
	type batch struct {
		cmd []byte
		n   int
	}
	var batches []batch
	err = s.restoreConv.Convert(rec, ver, func(cmd []byte, n int) error {
		var b []byte
		if selectDB != nil {
			b = append(append(append(b, selectDB...), cmd...), selectZero...)
			n += 2
		} else {
			b = append(b, cmd...)
		}
		batches = append(batches, batch{b, n})
		return nil
	})
	if err != nil {
		return fmt.Errorf("xsync/replicator: shard %d: offset %d: RESTORE %q: %w", s.index, offset, printable(args[1]), err)
	}
	slot := slots.Slot(key)
	if s.skip != nil && s.skip[slot] >= offset {
		s.setHandled(offset, db)
		return nil
	}
	for i, b := range batches {
		op := apply.Op{Source: s.index, Slot: slot, Cmd: b.cmd, N: b.n, Key: key}
		var ckptAt int64 // only the last batch carries the checkpoint
		if i == len(batches)-1 {
			op.Offset, ckptAt = offset, offset
		}
		if err := s.submitCkpt(ctx, op, ckptAt, db); err != nil {
			return err
		}
	}
	s.setHandled(offset, db)
	return nil
}

// miniRDB frames one value as an RDB file of version ver holding just that key,
// so the decoder can read a DUMP payload.
func miniRDB(ver int, rdbType byte, key, raw []byte) []byte {
	b := make([]byte, 0, 9+1+5+len(key)+len(raw)+9)
	b = append(b, fmt.Sprintf("REDIS%04d", ver)...)
	b = append(b, rdbType)
	b = appendRDBLen(b, uint64(len(key)))
	b = append(b, key...)
	b = append(b, raw...)
	b = append(b, 0xFF)                   // EOF
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0) // checksum 0: not checked
	return b
}

// appendRDBLen appends an RDB length: 6, 14 or 32/64 bits.
func appendRDBLen(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, 0x40|byte(n>>8), byte(n))
	case n <= 0xFFFFFFFF:
		return binary.BigEndian.AppendUint32(append(b, 0x80), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0x81), n)
}
