package apply

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xsync/xsync/replicator/conn"
)

// failingBarrier is a barrier whose command the destination refuses (as a
// cluster refuses SORT ... BY pattern).
func failingBarrier(off int64) Op {
	return Op{Source: 0, Offset: off, Key: []byte("tosort"), What: "emulate SORT", Barrier: func(ctx context.Context, d Dest) error {
		return fmt.Errorf("xsync/translate: SORT: %w", &conn.ReplyError{Msg: "ERR BY option of SORT denied in Cluster mode."})
	}}
}

func TestBarrierErrorPolicy(t *testing.T) {
	t.Run("skip", func(t *testing.T) {
		c := newFakeCluster(t, 1)
		a, done, _ := startApplier(t, []string{c.nodes[0].addr}, func(cfg *Config) { cfg.OnError = PolicySkip })
		submit(t, a, cmdOp(0, 1, "SET", "a", "1"))
		if err := a.Submit(context.Background(), failingBarrier(2)); err != nil {
			t.Fatalf("barrier under skip: %v", err)
		}
		submit(t, a, cmdOp(0, 3, "SET", "b", "1"))
		flush(t, a)
		if _, stopped := done.wait(0); stopped {
			t.Fatal("Run stopped under skip")
		}
		st := a.Stats()
		if st.Errors[KindOther] != 1 || st.BarrierErrors != 1 || a.Applied(0) != 3 || str(c.get("b")) != "1" {
			t.Errorf("errors %v barrier errors %d applied %d", st.Errors, st.BarrierErrors, a.Applied(0))
		}
	})
	t.Run("stop", func(t *testing.T) {
		c := newFakeCluster(t, 1)
		a, done, _ := startApplier(t, []string{c.nodes[0].addr}, nil)
		submit(t, a, cmdOp(0, 1, "SET", "a", "1"))
		if err := a.Submit(context.Background(), failingBarrier(2)); err == nil {
			t.Fatal("barrier under stop: no error")
		}
		err, ok := done.wait(10 * time.Second)
		if !ok {
			t.Fatal("Run did not stop")
		}
		for _, want := range []string{"tosort", "emulate SORT", "denied in Cluster mode", "--on-error skip"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Run: %v, want it to say %q", err, want)
			}
		}
		if a.Stats().BarrierErrors != 1 {
			t.Errorf("barrier errors %d", a.Stats().BarrierErrors)
		}
	})
}
