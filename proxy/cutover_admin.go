package proxy

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/redcon"
)

// cutover answers XSYNC CUTOVER on the admin port:
//
//	XSYNC CUTOVER [timeout]                  run a cutover (timeout: seconds or a Go duration)
//	XSYNC CUTOVER STATUS                     the cutover lines of INFO xsync
//	XSYNC CUTOVER STATE <id> <state> <epoch> a follower's poll; reply "+<state> <epoch>"
func (a *Admin) cutover(c redcon.Conn, args [][]byte) {
	co := a.cfg.Cutover
	if co == nil {
		c.WriteError("ERR no cutover here: start xsync sync with --gateway ADDR (or followers polling its admin port)")
		return
	}
	if len(args) > 0 {
		switch strings.ToUpper(string(args[0])) {
		case "STATUS":
			c.WriteBulkString(co.infoLines())
			return
		case "STATE":
			if len(args) != 4 {
				c.WriteError("ERR usage: XSYNC CUTOVER STATE <id> <state> <epoch>")
				return
			}
			epoch, err := strconv.ParseInt(string(args[3]), 10, 64)
			if err != nil {
				c.WriteError("ERR XSYNC CUTOVER STATE: epoch is not an integer")
				return
			}
			st, e := co.Report(string(args[1]), FollowerState(args[2]), epoch)
			c.WriteString(string(st) + " " + strconv.FormatInt(e, 10))
			return
		}
	}
	var timeout time.Duration
	if len(args) > 1 {
		c.WriteError("ERR usage: XSYNC CUTOVER [timeout]")
		return
	}
	if len(args) == 1 {
		s := string(args[0])
		if n, err := strconv.ParseFloat(s, 64); err == nil && n > 0 {
			timeout = time.Duration(n * float64(time.Second))
		} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
			timeout = d
		} else {
			c.WriteError(fmt.Sprintf("ERR XSYNC CUTOVER: timeout %q: give seconds (30) or a duration (1m30s)", s))
			return
		}
	}
	// redcon serves each connection on its own goroutine: waiting here blocks only
	// the connection that asked.
	res, err := co.Run(context.Background(), timeout)
	if err != nil {
		c.WriteError("ERR cutover rolled back, writes released to the source: " + strings.Map(noCRLF, err.Error()))
		return
	}
	c.WriteString(fmt.Sprintf("OK cutover done: writes paused %d ms (hold %d ms, followers %d ms, offsets %d ms, catch-up %d ms, switch %d ms)",
		res.Pause.Milliseconds(), res.Waits["hold"], res.Waits["followers"], res.Waits["offsets"], res.Waits["catchup"], res.Waits["switch"]))
}

// cutoverInfo returns the cutover lines appended to INFO's Xsync section.
func (a *Admin) cutoverInfo(section string) string {
	if a.cfg.Cutover == nil {
		return ""
	}
	switch section {
	case "default", "all", "everything", "xsync":
		return a.cfg.Cutover.infoLines()
	}
	return ""
}

func (co *Cutover) infoLines() string {
	in := co.Info()
	var b strings.Builder
	b.WriteString("cutover_state:" + string(in.State) + "\r\n")
	b.WriteString("cutover_epoch:" + strconv.FormatInt(in.Epoch, 10) + "\r\n")
	b.WriteString("cutover_pause_ms:" + strconv.FormatInt(in.Pause.Milliseconds(), 10) + "\r\n")
	b.WriteString("cutover_followers:" + strconv.Itoa(in.Followers) + "\r\n")
	b.WriteString("cutover_error:" + strings.Map(noCRLF, in.Error) + "\r\n")
	if g, ok := co.cfg.Gate.(*Gateway); ok && g != nil {
		st := g.Stats()
		fmt.Fprintf(&b, "gateway_addr:%s\r\ngateway_backend:%s\r\ngateway_clients:%d\r\ngateway_commands:%d\r\ngateway_held:%d\r\n",
			g.Addr(), g.Backend(), st.Clients, st.Commands, g.Held())
		fmt.Fprintf(&b, "gateway_moved:%d\r\ngateway_ask:%d\r\ngateway_tryagain:%d\r\ngateway_redirects_exhausted:%d\r\n",
			st.Moved, st.Ask, st.TryAgain, st.Redirects)
	}
	return b.String()
}
