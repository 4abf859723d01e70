package redisver

import "strings"

// INFO replies: "# Section" headers and "field:value" lines separated by CRLF
// (see "INFO" in the Redis command reference; server.c genRedisInfoString).

// InfoField returns the value of field in an INFO reply, "" when absent.
func InfoField(info, field string) string {
	for len(info) > 0 {
		line := info
		if i := strings.IndexByte(info, '\n'); i >= 0 {
			line, info = info[:i], info[i+1:]
		} else {
			info = ""
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

// InfoFields returns every field of an INFO reply by name.
func InfoFields(info string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// ServerName names the server an INFO server reply describes, given a lookup of
// its fields: "Redis 7.4.1", or for Valkey "Valkey 8.0.1 (Redis 7.2.4 compatible)"
// (Valkey's server.c genValkeyInfoString gives server_name:valkey and
// valkey_version, and keeps redis_version at the Redis release it is compatible
// with, which is what sets the RDB format it reads).
func ServerName(field func(name string) string) string {
	if strings.EqualFold(field("server_name"), "valkey") || field("valkey_version") != "" {
		v := field("valkey_version")
		if v == "" {
			v = field("redis_version")
		}
		return "Valkey " + v + " (Redis " + field("redis_version") + " compatible)"
	}
	return "Redis " + field("redis_version")
}
