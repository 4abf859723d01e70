package precheck

import "strings"

// serverName is how a node is named in the findings: its redis_version ("7.4.1"),
// or for Valkey, which says server_name:valkey and keeps redis_version at the Redis
// release it is compatible with (the RDB format it reads), "Valkey 8.0.1 (Redis
// 7.2.4 compatible)".
func serverName(n *node) string {
	if strings.EqualFold(n.info["server_name"], "valkey") {
		return "Valkey " + n.info["valkey_version"] + " (Redis " + n.info["redis_version"] + " compatible)"
	}
	return n.info["redis_version"]
}
