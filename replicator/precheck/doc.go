// Package precheck verifies, before anything is written, that a sync from a source
// to a destination can work: every node reachable and authenticated, replication
// permitted, versions compatible (or which conversion path will be used), the
// destination set to never evict, with room for the data and every slot covered, and
// the source's backlog and replica output buffer large enough for the snapshot.
//
// Each check yields one Result: PASS, WARN or FAIL, what was found, and how to fix it.
// The checks use go-redis (the control plane); they read INFO, CONFIG GET and
// CLUSTER INFO and never write.
package precheck
