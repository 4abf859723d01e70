// Package proxy holds the RESP servers that face people and clients: the admin port
// (INFO xsync, XSYNC commands; tidwall/redcon), the Prometheus endpoint, and the
// gateway that forwards client traffic and performs the cutover.
//
// proxy reads the replicator's status and steers it through the Controller
// interface only; it holds no replication logic.
package proxy
