// Package conn is the small Redis client of the data path: one TCP or TLS connection
// to one node, authenticated at dial time (AUTH with a password, or an ACL user and
// password), with pipelined raw writes (Writer) and in-order reply reads (Reader).
//
// The replication links (replicator/source) and the applier (replicator/apply) use it;
// the control plane (prechecks, verify) uses go-redis.
//
// ParseURL reads the URL forms users write:
//
//	redis://[user:pass@]host:port[,host:port...]
//	rediss://[user:pass@]host:port[,...]?tls-ca=ca.crt&tls-cert=c.crt&tls-key=c.key&tls-server-name=name&tls-insecure=true
//
// Errors from Dial name the node and say what to fix, for example
//
//	xsync/conn: 127.0.0.1:7000: authentication failed (WRONGPASS): check the password/user in the source URL
//	xsync/conn: 127.0.0.1:7000: connection refused: is the node running and reachable from here?
//
// and wrap one of the sentinel errors (ErrAuth, ErrUnreachable, ErrTLS, ...) so that
// callers can tell a wrong setting from a transient failure with errors.Is.
//
// A Conn is not safe for concurrent use, except Close, which may be called from any
// goroutine and any number of times.
package conn
