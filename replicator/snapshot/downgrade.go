package snapshot

import (
	"fmt"

	"github.com/xsync/xsync/replicator/rdb"
)

// What a destination older than the source cannot hold, key by key. Where an
// exact equivalent exists the converter writes it without asking (RESTORE
// payloads the destination cannot read become plain commands; RESTORE ABSTTL
// becomes a relative ttl before 5.0; HSET becomes HMSET before 4.0). Where none
// exists, Options.Downgrade decides: stop with the key and the reason
// (DowngradeStop, the default), or drop and count (DowngradeDrop):
//
//   - hash field expires (Redis 7.4, HPEXPIRE and friends; RDB types
//     hash-listpack-ex and hash-metadata) on a destination before 7.4: the
//     fields are written without their expire times (Stats.DroppedFields);
//   - function libraries (7.0) before 7.0 (Stats.DroppedFunctions);
//   - streams (5.0) before 5.0: the whole key (Stats.DroppedKeys);
//   - a stream's entries-added count and max-deleted id, and its consumer
//     groups' entries-read (7.0, what XINFO's lag is computed from) before 7.0
//     (Stats.DroppedStreamMeta). A stream whose entries-added equals its length
//     and that never had an entry deleted loses nothing: Redis 7.0 infers both
//     when it loads an older stream (rdbLoadObject in rdb.c), so it is written
//     without a word.

// dropFieldExpires handles the field expires of a hash chunk on a destination
// before 7.4.
func (c *Converter) dropFieldExpires(ms []int64) error {
	n := int64(0)
	for _, t := range ms {
		if t != 0 {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	if c.opts.Downgrade == DowngradeStop {
		return fmt.Errorf("%w: key %q: hash fields with their own expire time (Redis 7.4 HPEXPIRE) cannot be kept on Redis %s (--downgrade drop writes the fields without their expire times and counts them)",
			ErrUnsupported, c.key, c.opts.Target)
	}
	c.Stats.DroppedFields += n
	return nil
}

// checkStreamMeta handles a 7.0+ stream's metadata on a destination before 7.0.
func (c *Converter) checkStreamMeta(m *rdb.StreamMeta) error {
	if !m.V2 || c.opts.Target.AtLeast(7, 0) {
		return nil
	}
	if m.EntriesAdded == m.Length && m.MaxDeletedID == (rdb.StreamID{}) {
		return nil
	}
	return c.streamLoss(fmt.Sprintf("entries-added %d of %d entries, max-deleted id %d-%d", m.EntriesAdded, m.Length, m.MaxDeletedID.Ms, m.MaxDeletedID.Seq))
}

// checkEntriesRead handles a consumer group's entries-read on a destination
// before 7.0.
func (c *Converter) checkEntriesRead(g *rdb.StreamGroup) error {
	if g.EntriesRead < 0 || c.opts.Target.AtLeast(7, 0) {
		return nil
	}
	return c.streamLoss(fmt.Sprintf("consumer group %q entries-read %d", g.Name, g.EntriesRead))
}

func (c *Converter) streamLoss(what string) error {
	if c.opts.Downgrade == DowngradeStop {
		return fmt.Errorf("%w: key %q: stream %s (Redis 7.0, the consumer groups' lag) cannot be kept on Redis %s (--downgrade drop writes the stream without them and counts it)",
			ErrUnsupported, c.key, what, c.opts.Target)
	}
	if !c.lossCounted {
		c.lossCounted = true
		c.Stats.DroppedStreamMeta++
	}
	return nil
}
