// Package redistest starts real redis-server processes for tests: standalone servers
// and Redis Clusters of N masters with M replicas each, optionally over TLS, on free
// loopback ports, each in its own t.TempDir().
//
// Every process is stopped by t.Cleanup, also when the test fails or panics, and dies
// with the test binary even when that is killed (Setpgid, and Pdeathsig = SIGKILL on
// Linux). When a test has failed, the tail of every server's log is printed.
//
// Options.Version ("4.0", "7.4", "valkey-8.0", ...; see Versions) picks a server of
// that version from ../shared/redis/ beside the project root (or $XSYNC_REDIS_VERSIONS)
// and adapts to it: enable-debug-command only from 7.0, the slave-* names of the
// replica-* settings before 5.0, CLUSTER ADDSLOTS before 7.0 and clusters made by hand
// (MEET/REPLICATE) before 5.0, valkey-server and valkey-cli for Valkey. NeedVersions
// skips a test whose versions are missing (fails it when $CI is set).
//
// Without Version, the redis-server binary is looked up in $XSYNC_REDIS_SERVER, then in $PATH; redis-cli
// (used to create and reshard clusters) in $XSYNC_REDIS_CLI, then beside the server,
// then in $PATH. When a binary is missing the test fails if $CI is set and is skipped
// otherwise.
//
// Ports: a free port P is found by listening on 127.0.0.1:0 (and, for cluster nodes,
// checking that the bus port P+10000 is free too); because other tests and processes
// race for ports, a server that fails to bind is started again on a new port, and a
// server counts as started only when the process answering on P reports our process id.
//
// Typical use:
//
//	s := redistest.Start(t, redistest.Options{Config: []string{"maxmemory 64mb"}})
//	s.Client().Set(ctx, "k", "v", 0)
//
//	c := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Replicas: 1})
//	c.Client().Set(ctx, "k", "v", 0)
//	if err := c.Failover(ctx, c.Replicas()[0]); err != nil { t.Fatal(err) }
//
// Operations that change a running deployment (Stop, Restart, Failover, Reshard, ...)
// return errors; Start and StartCluster fail the test themselves. Call them from the
// test's goroutine.
package redistest
