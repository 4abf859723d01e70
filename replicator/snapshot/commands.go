package snapshot

import (
	"strconv"

	"github.com/xsync/xsync/replicator/rdb"
)

// commands writes rec's value as plain commands in bounded chunks.
func (c *Converter) commands(rec *rdb.Record) error {
	if c.opts.Replace == ReplaceKey {
		c.begin("DEL", c.key)
		if err := c.end(); err != nil {
			return err
		}
	}
	c.hasPL, c.added, c.lossCounted = false, 0, false
	var fn func(*rdb.Chunk) error
	switch rec.Type {
	case rdb.ValueString:
		fn = c.stringChunk
	case rdb.ValueList:
		fn = c.items("RPUSH")
	case rdb.ValueSet:
		fn = c.items("SADD")
	case rdb.ValueZSet:
		fn = c.zsetChunk
	case rdb.ValueHash:
		fn = c.hashChunk
	case rdb.ValueStream:
		fn = c.streamChunk
	default:
		return ErrModule
	}
	if err := rec.Elements(fn); err != nil {
		return err
	}
	if rec.Type == rdb.ValueString && !c.hasPL {
		c.begin("SET", c.key)
		c.arg(nil)
	}
	return c.end()
}

func (c *Converter) stringChunk(ch *rdb.Chunk) error {
	p := ch.Str
	max := c.opts.MaxBytes - len(c.key) - 128
	for len(p) > 0 {
		n := min(len(p), max)
		if c.hasPL {
			c.begin("APPEND", c.key)
		} else {
			c.begin("SET", c.key)
		}
		c.arg(p[:n])
		c.hasPL = true
		if err := c.end(); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func (c *Converter) items(name string) func(*rdb.Chunk) error {
	return func(ch *rdb.Chunk) error {
		for _, it := range ch.Items {
			if err := c.elem(name, it); err != nil {
				return err
			}
		}
		return nil
	}
}

func (c *Converter) zsetChunk(ch *rdb.Chunk) error {
	var tmp [40]byte
	for i, m := range ch.Items {
		// Shortest text that reads back as the same double; "inf"/"-inf".
		if err := c.elem("ZADD", rdb.AppendScore(tmp[:0], ch.Scores[i]), m); err != nil {
			return err
		}
	}
	return nil
}

func (c *Converter) hashChunk(ch *rdb.Chunk) error {
	name := "HSET"
	if !c.opts.Target.AtLeast(4, 0) {
		name = "HMSET"
	}
	for i, f := range ch.Items {
		if err := c.elem(name, f, ch.Values[i]); err != nil {
			return err
		}
	}
	if ch.FieldExpires == nil {
		return nil
	}
	// Field expires follow the fields they apply to, grouped by time.
	if err := c.end(); err != nil {
		return err
	}
	if !c.opts.Target.AtLeast(7, 4) {
		return c.dropFieldExpires(ch.FieldExpires)
	}
	for i := 0; i < len(ch.Items); {
		ms := ch.FieldExpires[i]
		j := i + 1
		for j < len(ch.Items) && ch.FieldExpires[j] == ms && j-i < c.opts.MaxElements {
			j++
		}
		if ms != 0 {
			c.begin("HPEXPIREAT", c.key)
			c.argInt(ms)
			c.arg([]byte("FIELDS"))
			c.argInt(int64(j - i))
			for _, f := range ch.Items[i:j] {
				c.arg(f)
			}
			if err := c.end(); err != nil {
				return err
			}
		}
		i = j
	}
	return nil
}

func (c *Converter) id(id rdb.StreamID) { c.arg(id.Append(c.num[:0])) }

func (c *Converter) streamChunk(ch *rdb.Chunk) error {
	for _, e := range ch.Entries {
		c.begin("XADD", c.key)
		c.id(e.ID)
		for _, f := range e.Fields {
			c.arg(f)
		}
		if err := c.end(); err != nil {
			return err
		}
		c.added++
	}
	if m := ch.Stream; m != nil {
		return c.streamMeta(m)
	}
	if g := ch.Group; g != nil {
		return c.streamGroup(g)
	}
	return nil
}

func (c *Converter) streamMeta(m *rdb.StreamMeta) error {
	if c.added == 0 {
		// An empty stream: XADD then trim it away, or create it with a group.
		if m.LastID != (rdb.StreamID{}) {
			c.begin("XADD", c.key)
			c.arg([]byte("MAXLEN"))
			c.arg([]byte("0"))
			c.id(m.LastID)
			c.arg([]byte("x"))
			c.arg([]byte("y"))
			if err := c.end(); err != nil {
				return err
			}
		} else {
			c.begin("XGROUP", nil)
			for _, a := range []string{"CREATE", string(c.key), "__xsync_tmp", "0", "MKSTREAM"} {
				c.arg([]byte(a))
			}
			if err := c.end(); err != nil {
				return err
			}
			c.begin("XGROUP", nil)
			for _, a := range []string{"DESTROY", string(c.key), "__xsync_tmp"} {
				c.arg([]byte(a))
			}
			if err := c.end(); err != nil {
				return err
			}
		}
	}
	if err := c.checkStreamMeta(m); err != nil {
		return err
	}
	c.begin("XSETID", c.key)
	c.id(m.LastID)
	if m.V2 && c.opts.Target.AtLeast(7, 0) {
		c.arg([]byte("ENTRIESADDED"))
		c.arg(strconv.AppendUint(c.num[:0], m.EntriesAdded, 10))
		c.arg([]byte("MAXDELETEDID"))
		c.id(m.MaxDeletedID)
	}
	return c.end()
}

func (c *Converter) streamGroup(g *rdb.StreamGroup) error {
	if err := c.checkEntriesRead(g); err != nil {
		return err
	}
	c.begin("XGROUP", nil)
	c.arg([]byte("CREATE"))
	c.arg(c.key)
	c.arg(g.Name)
	c.id(g.LastID)
	if g.EntriesRead >= 0 && c.opts.Target.AtLeast(7, 0) {
		c.arg([]byte("ENTRIESREAD"))
		c.argInt(g.EntriesRead)
	}
	if err := c.end(); err != nil {
		return err
	}
	if c.opts.Target.AtLeast(6, 2) {
		for _, cn := range g.Consumers {
			c.begin("XGROUP", nil)
			c.arg([]byte("CREATECONSUMER"))
			c.arg(c.key)
			c.arg(g.Name)
			c.arg(cn.Name)
			if err := c.end(); err != nil {
				return err
			}
		}
	}
	// Pending entries: XCLAIM key group consumer 0 id... TIME t RETRYCOUNT n
	// FORCE JUSTID, one command per run of entries sharing consumer, time and count.
	pel := g.PEL
	for i := 0; i < len(pel); {
		p := pel[i]
		if p.Consumer == nil {
			c.Stats.DroppedPEL++
			i++
			continue
		}
		j := i + 1
		for j < len(pel) && j-i < c.opts.MaxElements && string(pel[j].Consumer) == string(p.Consumer) &&
			pel[j].DeliveryTime == p.DeliveryTime && pel[j].DeliveryCount == p.DeliveryCount {
			j++
		}
		c.begin("XCLAIM", c.key)
		c.arg(g.Name)
		c.arg(p.Consumer)
		c.arg([]byte("0"))
		for _, q := range pel[i:j] {
			c.id(q.ID)
		}
		c.arg([]byte("TIME"))
		c.argInt(p.DeliveryTime)
		c.arg([]byte("RETRYCOUNT"))
		c.arg(strconv.AppendUint(c.num[:0], p.DeliveryCount, 10))
		c.arg([]byte("FORCE"))
		c.arg([]byte("JUSTID"))
		if err := c.end(); err != nil {
			return err
		}
		i = j
	}
	return nil
}
