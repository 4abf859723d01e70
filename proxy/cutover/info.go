package cutover

import (
	"strconv"
	"strings"
)

// InfoFielder is a Gate that adds its own fields to INFO xsync, after the
// cutover's (the gateway: gateway_addr, gateway_backend, gateway_clients, ...).
type InfoFielder interface {
	InfoFields() [][2]string
}

// InfoLines returns the cutover's lines of INFO xsync ("field:value\r\n"), and
// those of the Gate when it is an InfoFielder.
func (c *Coordinator) InfoLines() string {
	in := c.Info()
	var b strings.Builder
	field := func(k, v string) { b.WriteString(k + ":" + v + "\r\n") }
	field("cutover_state", string(in.State))
	field("cutover_epoch", strconv.FormatInt(in.Epoch, 10))
	field("cutover_pause_ms", strconv.FormatInt(in.Pause.Milliseconds(), 10))
	field("cutover_followers", strconv.Itoa(in.Followers))
	field("cutover_error", oneLine(in.Error))
	if g, ok := c.cfg.Gate.(InfoFielder); ok && g != nil {
		for _, kv := range g.InfoFields() {
			field(kv[0], oneLine(kv[1]))
		}
	}
	return b.String()
}

// oneLine replaces CR and LF so that s fits on one INFO line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}
