package apply

import "strings"

// serverName names the server an INFO server reply describes, product and version:
// "Valkey 8.0.1" when it says server_name:valkey (Valkey's server.c genValkeyInfoString
// also gives valkey_version, and keeps redis_version at the Redis release it is
// compatible with: 7.2.4), else "Redis 7.4.1".
func serverName(info []byte) string {
	if strings.EqualFold(infoField(info, "server_name"), "valkey") {
		if v := infoField(info, "valkey_version"); v != "" {
			return "Valkey " + v
		}
		return "Valkey (redis_version " + infoField(info, "redis_version") + ")"
	}
	return "Redis " + infoField(info, "redis_version")
}

// Server returns the destination's product and version as it reports them
// ("Valkey 8.0.1", "Redis 7.4.1"), detected by Run ("" before). The command and
// RESTORE choices use Version, the Redis compatibility level, which is what sets the
// RDB format a server reads (Valkey 8.0: 7.2.4, RDB 11).
func (a *Applier) Server() string {
	if s := a.server.Load(); s != nil {
		return *s
	}
	return ""
}
