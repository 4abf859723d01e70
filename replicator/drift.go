package replicator

// DriftStatus reports the live comparison of sampled keys (Config.VerifyRate).
type DriftStatus struct {
	Rate    int      // keys per second sampled; 0: off
	Checked int64    // keys compared
	Keys    int64    // keys that still differ after a re-check
	Sample  []string // some of them, for INFO and /healthz
}
