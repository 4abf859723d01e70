package admin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xsync/xsync/proxy/cutover"
)

// cutover answers XSYNC CUTOVER on the admin port:
//
//	XSYNC CUTOVER [timeout] [FORCE]          run a cutover (timeout: seconds or a Go duration);
//	                                         FORCE: even with no gateway and no follower
//	XSYNC CUTOVER STATUS                     the cutover lines of INFO xsync
//	XSYNC CUTOVER STATE <id> <state> <epoch> a follower's poll; reply "+<state> <epoch>"
func (a *Server) cutover(c *conn, args [][]byte) {
	co := a.cfg.Cutover
	if co == nil {
		c.WriteError("ERR no cutover here: start xsync sync with --gateway ADDR (or followers polling its admin port)")
		return
	}
	if len(args) > 0 {
		switch strings.ToUpper(string(args[0])) {
		case "STATUS":
			c.WriteBulkString(co.InfoLines())
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
			st, e := co.Report(string(args[1]), cutover.FollowerState(args[2]), epoch)
			c.WriteString(string(st) + " " + strconv.FormatInt(e, 10))
			return
		}
	}
	var timeout time.Duration
	force := false
	if n := len(args); n > 0 && strings.EqualFold(string(args[n-1]), "FORCE") {
		force, args = true, args[:n-1]
	}
	if len(args) > 1 {
		c.WriteError("ERR usage: XSYNC CUTOVER [timeout] [FORCE]")
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
	run := co.Run
	if force {
		run = co.RunForced
	}
	res, err := run(context.Background(), timeout)
	if errors.Is(err, cutover.ErrNothingToCut) {
		c.WriteError("ERR " + err.Error())
		return
	}
	if err != nil {
		c.WriteError("ERR cutover rolled back, writes released to the source: " + oneLine(err.Error()))
		return
	}
	c.WriteString(fmt.Sprintf("OK cutover done: writes paused %d ms (hold %d ms, followers %d ms, offsets %d ms, catch-up %d ms, switch %d ms)",
		res.Pause.Milliseconds(), res.Waits["hold"], res.Waits["followers"], res.Waits["offsets"], res.Waits["catchup"], res.Waits["switch"]))
}

// cutoverInfo returns the cutover lines appended to INFO's Xsync section.
func (a *Server) cutoverInfo(section string) string {
	if a.cfg.Cutover == nil {
		return ""
	}
	switch section {
	case "default", "all", "everything", "xsync":
		return a.cfg.Cutover.InfoLines()
	}
	return ""
}

// oneLine replaces CR and LF so that s fits in a simple string or an error reply.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}
