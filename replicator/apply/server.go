package apply

// Server returns the destination's product and version as it reports them
// ("Valkey 8.0.1 (Redis 7.2.4 compatible)", "Redis 7.4.1"; redisver.ServerName),
// detected by Run ("" before). The command and RESTORE choices use Version, the
// Redis compatibility level, which is what sets the RDB format a server reads
// (Valkey 8.0: 7.2.4, RDB 11).
func (a *Applier) Server() string {
	if s := a.server.Load(); s != nil {
		return *s
	}
	return ""
}
