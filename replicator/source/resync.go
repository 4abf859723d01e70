package source

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// resyncReq asks the Source's loop to restart the links of some shards from new
// starting points (see Resync).
type resyncReq struct {
	shards  []int
	prepare func(ctx context.Context) (map[int]ShardStart, error)
	done    chan error
}

// Resync stops the links of the given shards (by ShardInfo.Index), calls prepare
// while they are stopped, and starts each of them again from the ShardStart that
// prepare returned for it (a shard prepare leaves out resumes where its link
// stopped). The handlers stay the same. The topology is not re-read meanwhile.
// It is how a Replicator re-applies a part of the stream after the destination
// lost data. It returns prepare's error, or ErrClosed when Run is not running.
func (s *Source) Resync(ctx context.Context, shards []int, prepare func(ctx context.Context) (map[int]ShardStart, error)) error {
	req := resyncReq{shards: shards, prepare: prepare, done: make(chan error, 1)}
	select {
	case s.resyncs <- req:
	case <-s.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-s.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// resync runs a resyncReq in the loop's goroutine.
func (s *Source) resync(ctx context.Context, g *errgroup.Group, req resyncReq) error {
	byIndex := map[int]*shard{}
	for _, sh := range *s.shards.Load() {
		byIndex[sh.info.Load().Index] = sh
	}
	stopped := map[int]Status{}
	for _, i := range req.shards {
		sh := byIndex[i]
		if sh == nil || sh.skipped || sh.link.Load() == nil {
			continue
		}
		stopped[i] = s.stopLink(sh)
	}
	starts, err := req.prepare(ctx)
	for i, st := range stopped {
		sh := byIndex[i]
		start, ok := starts[i]
		if !ok || err != nil {
			start = ShardStart{ReplID: st.ReplID, Offset: st.Offset, DB: st.DB}
		}
		info := sh.info.Load()
		if serr := s.startLink(ctx, g, sh, info.Node.Addr, start.ReplID, start.Offset, start.DB); serr != nil {
			return fmt.Errorf("xsync/source: restarting shard %d: %w", i, serr)
		}
		sh.link.Load().inherit(st)
	}
	req.done <- err
	return nil
}
