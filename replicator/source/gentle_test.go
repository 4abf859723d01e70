package source

import (
	"strings"
	"testing"
)

func TestBufferWarnings(t *testing.T) {
	tests := []struct {
		name    string
		cobl    string
		backlog string
		info    string
		rate    int64
		want    []string // substrings, one per warning
		wantErr bool
	}{
		{name: "defaults, idle", cobl: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", backlog: "1048576",
			info: "used_memory:1000\r\ninstantaneous_input_kbps:0.00\r\n", rate: 50 << 20},
		{name: "big dataset, busy", cobl: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", backlog: "1048576",
			info: "used_memory:90000000000\r\nused_memory_dataset:80000000000\r\ninstantaneous_input_kbps:2048.00\r\n", rate: 50 << 20,
			want: []string{"hard limit 256.0MB", "soft limit 64.0MB", "repl-backlog-size 1.0MB"}},
		{name: "unlimited buffer", cobl: "normal 0 0 0 replica 0 0 0 pubsub 0 0 0", backlog: "1gb",
			info: "used_memory_dataset:1000000000\r\ninstantaneous_input_kbps:2000\r\n", rate: 1 << 20,
			want: []string{"repl-backlog-size 1024.0MB"}},
		{name: "no replica class", cobl: "normal 0 0 0", backlog: "1", wantErr: true},
		{name: "bad size", cobl: "slave 12zz 0 0", backlog: "1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f bufferFacts
			err := f.parseConfig(tt.cobl, tt.backlog)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			f.parseInfo([]byte(tt.info))
			got := f.warnings(tt.rate)
			if len(got) != len(tt.want) {
				t.Fatalf("warnings %q, want %q", got, tt.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tt.want[i]) {
					t.Errorf("warning %q lacks %q", got[i], tt.want[i])
				}
			}
		})
	}
}
