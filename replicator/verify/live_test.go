package verify_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator/verify"
)

// TestLiveWrites verifies while a writer changes keys on the source and, a moment
// later, on the target (as a sync with some lag does). The writer stops after round
// 1; nothing may be reported, whatever round 1 caught in flight.
func TestLiveWrites(t *testing.T) {
	ctx := testCtx(t)
	src := redistest.Start(t, redistest.Options{}).Client()
	tgt := redistest.Start(t, redistest.Options{}).Client()
	const n = 200
	for i := range n {
		k := fmt.Sprintf("counter:%d", i)
		if err := src.Set(ctx, k, 0, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := tgt.Set(ctx, k, 0, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	stop, stopped := make(chan struct{}), make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				stopped <- nil
				return
			default:
			}
			k := fmt.Sprintf("counter:%d", i%n)
			if err := src.Incr(ctx, k).Err(); err != nil {
				stopped <- err
				return
			}
			time.Sleep(2 * time.Millisecond) // replication lag
			if err := tgt.Incr(ctx, k).Err(); err != nil {
				stopped <- err
				return
			}
		}
	}()
	h := &afterRound1{fn: func() {
		close(stop)
		if err := <-stopped; err != nil {
			t.Errorf("writer: %v", err)
		}
	}}
	res, err := verify.Run(ctx, verify.Config{Source: src, Target: tgt, RoundDelay: 20 * time.Millisecond,
		ScanCount: 10, Logger: slog.New(h)})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("differing keys per round: %v", res.PerRound)
	if !res.Equal() {
		t.Errorf("%d keys reported after the writer stopped: %+v", res.Total(), res.Diffs)
	}
}
