package cutover

import (
	"strconv"
	"testing"
	"time"

	"github.com/xsync/xsync/replicator"
)

// FuzzStateExchange: both ends of XSYNC CUTOVER STATE. Whatever a follower
// reports is recorded without panicking and answered "<state> <epoch>", which
// the follower's parser reads back; any reply the follower gets either parses
// to a known state or is an error.
func FuzzStateExchange(f *testing.F) {
	f.Add("gw-1", "held", "3", []byte("hold 3"))
	f.Add("", "", "-1", []byte("done 9223372036854775807"))
	f.Add("a b", "switched", "x", []byte("rolledback"))
	f.Add("\r\n", "open", "0", []byte("idle 0 1"))
	co, err := New(Config{Status: func() replicator.Status { return replicator.Status{} }, FollowerTTL: time.Minute, Logger: quietLogger()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, state, epoch string, reply []byte) {
		if e, err := strconv.ParseInt(epoch, 10, 64); err == nil {
			st, n := co.Report(id, FollowerState(state), e)
			got, gn, err := parseStateReply([]byte(string(st) + " " + strconv.FormatInt(n, 10)))
			if err != nil || got != st || gn != n {
				t.Fatalf("the coordinator's answer %s %d reads back as %s %d, %v", st, n, got, gn, err)
			}
		}
		if s, n, err := parseStateReply(reply); err == nil {
			switch s {
			case StateIdle, StateHold, StateDone, StateRolledBack:
			default:
				t.Fatalf("%q parsed to unknown state %q", reply, s)
			}
			if n < 0 {
				t.Fatalf("%q parsed to a negative epoch", reply)
			}
		}
	})
}
