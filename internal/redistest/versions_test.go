package redistest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/xsync/xsync/internal/redistest"
)

// TestVersions starts every version of redistest.Versions standalone (with a
// replica-* setting, renamed for 3.2 and 4.0) and as a cluster of three masters with
// a replica each (redis-cli --cluster create from 5.0, CLUSTER ADDSLOTS/MEET before),
// and checks that each answers with the version asked for.
func TestVersions(t *testing.T) {
	redistest.NeedVersions(t, redistest.Versions...)
	for _, v := range redistest.Versions {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			s := redistest.Start(t, redistest.Options{Version: v, Config: []string{"replica-read-only yes"}})
			_, prefix, _ := strings.Cut("x-"+v, "-")
			if strings.HasPrefix(v, "valkey-") {
				prefix = strings.TrimPrefix(v, "valkey-")
			}
			if got := s.Version().String(); !strings.HasPrefix(got, prefix+".") {
				t.Errorf("Version() = %s, want %s.x", got, prefix)
			}
			if s.Valkey() != strings.HasPrefix(v, "valkey-") {
				t.Errorf("Valkey() = %v for %s", s.Valkey(), v)
			}
			info, err := s.Client().Info(ctx, "server").Result()
			if err != nil {
				t.Fatal(err)
			}
			if want := "redis_version:"; !strings.Contains(info, want) {
				t.Errorf("INFO server has no %s", want)
			}
			c := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Replicas: 1, Options: redistest.Options{Version: v}})
			cl := c.Client()
			for i := range 30 {
				if err := cl.Set(ctx, fmt.Sprintf("k%d", i), "v", 0).Err(); err != nil {
					t.Fatalf("SET on the %s cluster: %v", v, err)
				}
			}
			if n := len(c.Masters()); n != 3 {
				t.Errorf("%d masters, want 3", n)
			}
			if n := len(c.Replicas()); n != 3 {
				t.Errorf("%d replicas, want 3", n)
			}
		})
	}
}
