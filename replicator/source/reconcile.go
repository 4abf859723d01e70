package source

import (
	"context"
	"fmt"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/xsync/xsync/slots"
)

// reconcile matches a topology read with the shards followed: a topology shard
// sharing a node with a known shard is that shard (its master failed over to a
// replica, or was demoted); a shard with no known node is new. A shard whose
// followed node changed gets a new link that resumes from the old link's position.
func (s *Source) reconcile(ctx context.Context, g *errgroup.Group, topo slots.Topology, standalone bool) error {
	next := slices.Clone(*s.shards.Load())
	seen := make(map[*shard]bool)
	for _, ts := range topo.Shards {
		if ts.Primary.Addr == "" || (ts.Primary.Health == "fail" && len(ts.Ranges) == 0) {
			// No master, or a failed one without slots: after a crash failover Redis
			// lists the dead master as a shard of its own until it is forgotten.
			continue
		}
		sh := s.match(next, ts, standalone)
		if sh != nil && seen[sh] {
			// A second entry sharing nodes with a shard already matched in this read
			// (a stale view during a failover): the first one, with slots, wins.
			s.cfg.Logger.Debug("topology entry shares nodes with a matched shard; ignored", "master", ts.Primary.Addr)
			continue
		}
		current := ""
		if sh != nil {
			current = sh.info.Load().Node.Addr
		}
		node := s.pick(ts, current)
		info := ShardInfo{Ranges: slices.Clone(ts.Ranges), Master: ts.Primary, Node: node, Standalone: standalone}
		if sh == nil {
			info.Index = len(next)
			var err error
			if sh, err = s.addShard(ctx, g, info); err != nil {
				return err
			}
			next = append(next, sh)
		} else if err := s.updateShard(ctx, g, sh, info); err != nil {
			return err
		}
		seen[sh] = true
		sh.missed = 0
		sh.nodes[nodeKey(ts.Primary)] = true
		for _, r := range ts.Replicas {
			sh.nodes[nodeKey(r)] = true
		}
	}
	for _, sh := range next {
		if seen[sh] || (sh.link.Load() == nil && !sh.skipped) {
			continue
		}
		if sh.skipped {
			if sh.missed++; sh.missed >= missingReads {
				sh.skipped = false // forgotten: offered again if it comes back
				s.cfg.Logger.Debug("skipped source shard left the topology", "shard", sh.info.Load().Index)
			}
			continue
		}
		if sh.missed++; sh.missed >= missingReads {
			info := *sh.info.Load()
			s.stopLink(sh)
			sh.link.Store(nil)
			s.cfg.Logger.Warn("source shard left the topology: link stopped", "shard", info.Index, "node", info.Node.Addr)
			s.emit(Event{Kind: ShardRemoved, Shard: info, Prev: info})
		}
	}
	s.shards.Store(&next)
	return nil
}

// addShard asks NewShard for the shard's Handler and starts its link.
func (s *Source) addShard(ctx context.Context, g *errgroup.Group, info ShardInfo) (*shard, error) {
	sh := &shard{nodes: map[string]bool{}}
	sh.info.Store(&info)
	start, err := s.cfg.NewShard(ctx, info)
	if err != nil {
		return nil, fmt.Errorf("xsync/source: shard %d (%s): %w", info.Index, info.Node.Addr, err)
	}
	if start.Skip {
		sh.skipped = true
		s.cfg.Logger.Info("source shard left out (followed elsewhere)", "shard", info.Index, "node", info.Node.Addr, "ranges", fmtRanges(info.Ranges))
		return sh, nil
	}
	if start.Handler == nil {
		return nil, fmt.Errorf("xsync/source: shard %d (%s): NewShard returned no Handler", info.Index, info.Node.Addr)
	}
	sh.handler = start.Handler
	if err := s.startLink(ctx, g, sh, info.Node.Addr, start.ReplID, start.Offset, start.DB); err != nil {
		return nil, err
	}
	s.cfg.Logger.Info("following source shard", "shard", info.Index, "node", info.Node.Addr, "ranges", fmtRanges(info.Ranges))
	s.emit(Event{Kind: ShardAdded, Shard: info})
	return sh, nil
}

// updateShard records a new read of a known shard: when the node to follow changed,
// the old link is stopped and a new one resumes from its replid and offset.
func (s *Source) updateShard(ctx context.Context, g *errgroup.Group, sh *shard, info ShardInfo) error {
	prev := *sh.info.Load()
	info.Index = prev.Index
	sh.info.Store(&info)
	if sh.skipped {
		if !sameRanges(prev.Ranges, info.Ranges) {
			s.emit(Event{Kind: ShardRangesChanged, Shard: info, Prev: prev})
		}
		return nil
	}
	if prev.Node.Addr != info.Node.Addr {
		st := s.stopLink(sh)
		s.cfg.Logger.Info("source shard moved: following the new node with PSYNC",
			"shard", info.Index, "from", prev.Node.Addr, "to", info.Node.Addr, "replid", st.ReplID, "offset", st.Offset)
		if err := s.startLink(ctx, g, sh, info.Node.Addr, st.ReplID, st.Offset, st.DB); err != nil {
			return err
		}
		sh.link.Load().inherit(st)
		s.emit(Event{Kind: ShardNodeChanged, Shard: info, Prev: prev})
	}
	if !sameRanges(prev.Ranges, info.Ranges) {
		s.cfg.Logger.Info("source shard slots changed", "shard", info.Index, "ranges", fmtRanges(info.Ranges))
		s.emit(Event{Kind: ShardRangesChanged, Shard: info, Prev: prev})
	}
	return nil
}

// match finds the known shard that shares a node with ts.
func (s *Source) match(known []*shard, ts slots.Shard, standalone bool) *shard {
	for _, sh := range known {
		if sh.link.Load() == nil && !sh.skipped {
			continue // removed
		}
		if standalone && sh.info.Load().Standalone {
			return sh
		}
		if sh.nodes[nodeKey(ts.Primary)] {
			return sh
		}
		for _, r := range ts.Replicas {
			if sh.nodes[nodeKey(r)] {
				return sh
			}
		}
	}
	return nil
}

// startLink starts a link for sh under the errgroup.
func (s *Source) startLink(ctx context.Context, g *errgroup.Group, sh *shard, addr, replID string, off int64, db int) error {
	cfg := s.cfg.Link
	cfg.Addr, cfg.ReplID, cfg.Offset, cfg.DB = addr, replID, off, db
	cfg.OnError = func(error) { s.Refresh() }
	idx := sh.info.Load().Index
	cfg.Logger = cfg.Logger.With("shard", idx)
	l, err := NewLink(cfg, sh.handler)
	if err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	sh.link.Store(l)
	sh.cancel, sh.done = cancel, done
	g.Go(func() error {
		defer close(done)
		if err := l.Run(lctx); err != nil {
			return fmt.Errorf("xsync/source: shard %d (%s): %w", idx, addr, err)
		}
		return nil
	})
	return nil
}

// stopLink stops sh's link, waits for it and returns its last status.
func (s *Source) stopLink(sh *shard) Status {
	sh.cancel()
	<-sh.done
	return sh.link.Load().Status()
}

func (s *Source) emit(ev Event) {
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(ev)
	}
}

func fmtRanges(rs []slots.Range) string {
	out := ""
	for i, r := range rs {
		if i > 0 {
			out += ","
		}
		out += fmt.Sprintf("%d-%d", r.Start, r.End)
	}
	return out
}
