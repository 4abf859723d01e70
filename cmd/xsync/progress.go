package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/xsync/xsync/replicator"
)

// showProgress decides whether to draw the progress line: always with "on", never
// with "off", and with "auto" when stderr is a terminal.
func showProgress(mode string, env *cliEnv) bool {
	switch mode {
	case "on":
		return true
	case "off":
		return false
	}
	f, ok := env.stderr.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressLine redraws one status line on w every second while a full sync runs:
// keys, bytes, rate and ETA, per shard. It leaves the line when the sync streams.
func progressLine(ctx context.Context, w io.Writer, r *replicator.Replicator) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastBytes int64
	drawn := false
	for {
		select {
		case <-ctx.Done():
			if drawn {
				fmt.Fprintln(w)
			}
			return
		case <-t.C:
		}
		st := r.Status()
		line, active := progressText(st, st.BytesDone-lastBytes)
		lastBytes = st.BytesDone
		if !active {
			if drawn {
				fmt.Fprintf(w, "\r\033[K%s\n", line)
				drawn = false
			}
			continue
		}
		fmt.Fprintf(w, "\r\033[K%s", line)
		drawn = true
	}
}

// progressText renders the status as one line; active is false once no shard is in
// full sync.
func progressText(st replicator.Status, bytesPerSec int64) (line string, active bool) {
	var parts []string
	for _, sh := range st.Shards {
		if sh.State == replicator.StateFullSync {
			active = true
		}
		p := fmt.Sprintf("shard%d %s", sh.Index, sh.State)
		if sh.KeysTotal > 0 {
			p += fmt.Sprintf(" %d/%d keys", sh.KeysDone, sh.KeysTotal)
		} else if sh.KeysDone > 0 {
			p += fmt.Sprintf(" %d keys", sh.KeysDone)
		}
		parts = append(parts, p)
	}
	eta := "-"
	if st.KeysTotal > st.KeysDone && st.KeysDone > 0 && !st.Started.IsZero() {
		el := time.Since(st.Started)
		eta = (time.Duration(float64(el) * float64(st.KeysTotal-st.KeysDone) / float64(st.KeysDone))).Round(time.Second).String()
	}
	line = fmt.Sprintf("xsync %s: %d keys, %.1f MB, %.1f MB/s, ETA %s | %s", st.State, st.KeysDone,
		float64(st.BytesDone)/1e6, float64(bytesPerSec)/1e6, eta, strings.Join(parts, " | "))
	if !active {
		line = fmt.Sprintf("xsync %s: full sync done, %d keys; lag %d bytes", st.State, st.KeysDone, st.LagBytes)
	}
	return line, active
}
