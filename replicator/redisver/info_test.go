package redisver

import "testing"

const infoValkey = "# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\nrun_id:abc\r\n\r\n# Replication\r\nrole:master\r\nmaster_repl_offset:1234\r\n"

func TestInfoField(t *testing.T) {
	for field, want := range map[string]string{"redis_version": "7.2.4", "run_id": "abc", "master_repl_offset": "1234", "role": "master", "missing": "", "Server": ""} {
		if got := InfoField(infoValkey, field); got != want {
			t.Errorf("InfoField(%q) = %q, want %q", field, got, want)
		}
	}
	m := InfoFields(infoValkey)
	if len(m) != 6 || m["valkey_version"] != "8.0.1" || m["master_repl_offset"] != "1234" {
		t.Errorf("InfoFields = %v", m)
	}
}

func TestServerName(t *testing.T) {
	redis := "# Server\r\nredis_version:7.4.1\r\nredis_mode:cluster\r\n"
	for info, want := range map[string]string{
		infoValkey: "Valkey 8.0.1 (Redis 7.2.4 compatible)",
		redis:      "Redis 7.4.1",
	} {
		if got := ServerName(func(f string) string { return InfoField(info, f) }); got != want {
			t.Errorf("ServerName = %q, want %q", got, want)
		}
	}
}
