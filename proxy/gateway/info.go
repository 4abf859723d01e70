package gateway

import "strconv"

// InfoFields returns the gateway's fields of INFO xsync (it implements
// cutover.InfoFielder): where it listens, which backend it forwards to, and its
// counters.
func (g *Server) InfoFields() [][2]string {
	st := g.Stats()
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	return [][2]string{
		{"gateway_addr", g.Addr()},
		{"gateway_backend", g.Backend()},
		{"gateway_clients", i64(st.Clients)},
		{"gateway_commands", i64(st.Commands)},
		{"gateway_held", strconv.Itoa(g.Held())},
		{"gateway_moved", i64(st.Moved)},
		{"gateway_ask", i64(st.Ask)},
		{"gateway_tryagain", i64(st.TryAgain)},
		{"gateway_redirects_exhausted", i64(st.Redirects)},
		{"gateway_rejected_maxclients", i64(st.RejectedMaxClients)},
		{"gateway_disconnected_idle", i64(st.DroppedIdle)},
		{"gateway_disconnected_output_limit", i64(st.DroppedOutput)},
		{"gateway_disconnected_protocol", i64(st.DroppedProtocol)},
	}
}
