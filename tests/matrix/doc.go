// Package matrix runs xsync end to end between every pair of server versions that
// people migrate between: Redis 3.2 to 7.4 and Valkey 8.0 (../shared/redis/) and
// Debian's 7.0, as cluster sources into 7.0, 7.0 into each as a cluster
// destination, standalone sources with several databases, the downgrades, and a
// source failover and a kill -9 resume on an old and a new cluster. Each pair is a
// small full sync of every type the source has, writes for a while, then equality.
//
// XSYNC_MATRIX_SECONDS sets the seconds of writes (default 10, 3 under -short);
// XSYNC_MATRIX_KEYS the keys filled (default 300, plus one big key of each kind).
package matrix
