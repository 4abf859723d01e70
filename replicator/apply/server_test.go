package apply

import (
	"testing"

	"github.com/xsync/xsync/internal/redistest"
)

// TestServerName reads the product and version of live destinations: Valkey says
// so in INFO (server_name, valkey_version) while its redis_version stays at the
// Redis it is compatible with (7.2.4 for Valkey 8.0: RDB 11), which Version keeps.
func TestServerName(t *testing.T) {
	redistest.NeedVersions(t, "valkey-8.0", "7.4")
	for _, tc := range []struct{ version, name, compat string }{
		{"valkey-8.0", "Valkey 8.0.", "7.2."},
		{"7.4", "Redis 7.4.", "7.4."},
	} {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			s := redistest.Start(t, redistest.Options{Version: tc.version})
			a, _, _ := startApplier(t, []string{s.Addr()}, nil)
			submit(t, a, cmdOp(0, 1, "SET", "k", "v"))
			flush(t, a)
			if got := a.Server(); len(got) < len(tc.name) || got[:len(tc.name)] != tc.name {
				t.Errorf("Server() = %q, want %s*", got, tc.name)
			}
			if got := a.Version().String(); len(got) < len(tc.compat) || got[:len(tc.compat)] != tc.compat {
				t.Errorf("Version() = %s, want %s*", got, tc.compat)
			}
		})
	}
}
