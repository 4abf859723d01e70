package main

import (
	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/replicator/precheck"
)

// precheckEndpoint describes one side to the prechecks: its seeds, and the user,
// password and TLS settings of its connection options. `xsync check` and `xsync
// sync` both build their endpoints here.
func precheckEndpoint(seeds []string, o conn.Options) precheck.Endpoint {
	return precheck.Endpoint{Seeds: seeds, Username: o.Username, Password: o.Password, TLS: o.TLS}
}
