package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// dumped is one key as DUMP returned it, with its remaining TTL (0: none).
type dumped struct {
	key     string
	payload string
	pttl    int64
}

// restoreResult is the destination's ingest ceiling: every key as RESTORE ... REPLACE,
// pipelined over one connection per destination master (as xsync's default
// --conns-per-node 1), all masters in parallel.
type restoreResult struct {
	seconds float64
	keys    int64
	bytes   int64         // payload bytes sent
	allCPU  time.Duration // the destination servers during the RESTOREs
	other   time.Duration // every other process on the machine (the bench's writers included)
}

// dumpAll reads every key of the source with SCAN, DUMP and PTTL (not timed).
func (b *bench) dumpAll(ctx context.Context) ([]dumped, error) {
	var mu sync.Mutex
	var out []dumped
	errs := make(chan error, len(b.src.nodes))
	for _, s := range b.src.nodes {
		go func() {
			var local []dumped
			var cursor uint64
			for {
				keys, next, err := s.c.Scan(ctx, cursor, "*", 1000).Result()
				if err != nil {
					errs <- fmt.Errorf("bench: SCAN: %w", err)
					return
				}
				pipe := s.c.Pipeline()
				for _, k := range keys {
					pipe.Dump(ctx, k)
					pipe.PTTL(ctx, k)
				}
				cmds, err := pipe.Exec(ctx)
				if err != nil {
					errs <- fmt.Errorf("bench: DUMP: %w", err)
					return
				}
				for i, k := range keys {
					p, _ := cmds[2*i].(interface{ Val() string })
					t, _ := cmds[2*i+1].(interface{ Val() time.Duration })
					ttl := t.Val().Milliseconds()
					if ttl < 0 {
						ttl = 0
					}
					local = append(local, dumped{key: k, payload: p.Val(), pttl: ttl})
				}
				if next == 0 {
					break
				}
				cursor = next
			}
			mu.Lock()
			out = append(out, local...)
			mu.Unlock()
			errs <- nil
		}()
	}
	var first error
	for range b.src.nodes {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return out, first
}

// runRestore sends the dumped keys to the destination masters and empties the
// destination afterwards.
func (b *bench) runRestore(ctx context.Context, keys []dumped) (*restoreResult, error) {
	per := make([][]dumped, len(b.dst.nodes))
	r := &restoreResult{keys: int64(len(keys))}
	for _, k := range keys {
		i := b.dst.owner[slots.SlotString(k.key)]
		per[i] = append(per[i], k)
		r.bytes += int64(len(k.payload))
	}
	var cpu cpuSet
	for _, s := range b.dst.nodes {
		cpu.add(s.p.Pid(), true)
	}
	before := cpu.sample()
	busy0 := machineBusy()
	start := time.Now()
	errs := make(chan error, len(b.dst.nodes))
	for i, s := range b.dst.nodes {
		go func() { errs <- restoreTo(ctx, s.addr(), per[i]) }()
	}
	var first error
	for range b.dst.nodes {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	r.seconds = time.Since(start).Seconds()
	r.allCPU = sum(diff(before, cpu.sample()))
	r.other = max(0, machineBusy()-busy0-r.allCPU)
	if first != nil {
		return nil, first
	}
	n, err := b.dst.dbsize(ctx)
	if err != nil {
		return nil, err
	}
	if n != r.keys {
		b.logf("WARNING: destination holds %d keys after the RESTOREs, %d sent", n, r.keys)
	}
	for _, s := range b.dst.nodes {
		if err := s.c.FlushAll(ctx).Err(); err != nil {
			return nil, fmt.Errorf("bench: FLUSHALL: %w", err)
		}
	}
	return r, nil
}

// restoreTo pipelines RESTORE key ttl payload REPLACE over one connection: a writer
// sends everything, a reader counts the replies.
func restoreTo(ctx context.Context, addr string, keys []dumped) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("bench: dial %s: %w", addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	werr := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(conn, 256<<10)
		var buf []byte
		for _, k := range keys {
			buf = resp.AppendArray(buf[:0], 5)
			buf = resp.AppendBulkString(buf, "RESTORE")
			buf = resp.AppendBulkString(buf, k.key)
			buf = resp.AppendBulkInt(buf, k.pttl)
			buf = resp.AppendBulkString(buf, k.payload)
			buf = resp.AppendBulkString(buf, "REPLACE")
			if _, err := w.Write(buf); err != nil {
				werr <- err
				return
			}
		}
		werr <- w.Flush()
	}()
	rd := bufio.NewReaderSize(conn, 64<<10)
	var firstErr error
	for range keys {
		line, err := rd.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("bench: RESTORE reply from %s: %w", addr, err)
		}
		if len(line) > 0 && line[0] == '-' && firstErr == nil {
			firstErr = errors.New("bench: RESTORE on " + addr + ": " + string(line))
		}
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("bench: RESTORE to %s: %w", addr, err)
	}
	return firstErr
}
