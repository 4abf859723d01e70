package resp

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xsync/xsync/internal/fixtures"
)

// TestReaderPsyncFixtures reads what real masters (Redis 4.0 to 7.4) sent to a
// replica after PSYNC ? -1: keep-alives, +FULLRESYNC, the RDB transfer in both
// framings, then the command stream, whose bytes must add up to the master's offset.
func TestReaderPsyncFixtures(t *testing.T) {
	dir := filepath.Join(fixtures.Dir(t), "psync")
	metas, err := filepath.Glob(filepath.Join(dir, "*.meta.json"))
	if err != nil || len(metas) == 0 {
		t.Fatalf("no psync fixtures in %s: %v", dir, err)
	}
	for _, metaPath := range metas {
		name := strings.TrimSuffix(filepath.Base(metaPath), ".meta.json")
		t.Run(name, func(t *testing.T) {
			var meta struct {
				ReplID      string `json:"replid"`
				StartOffset int64  `json:"start_offset"`
				EndOffset   int64  `json:"end_offset"`
				Framing     string `json:"rdb_framing"`
				RDBBytes    int64  `json:"rdb_bytes"`
				StreamBytes int64  `json:"stream_bytes"`
			}
			raw, err := os.ReadFile(metaPath)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &meta); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, name+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			for _, chunk := range []int{1 << 20, 7} {
				r := NewReader(&chunkReader{data: data, rng: rand.New(rand.NewPCG(3, 4)), max: chunk}, Limits{})
				checkPsync(t, r, meta.ReplID, meta.Framing, meta.RDBBytes, meta.EndOffset-meta.StartOffset, int64(len(data)))
			}
		})
	}
}

func checkPsync(t *testing.T, r *Reader, replID, framing string, rdbBytes, streamBytes, total int64) {
	t.Helper()
	line, n, err := r.ReadLine()
	for err == nil && len(line) == 0 {
		if n != 1 {
			t.Fatalf("keep-alive n = %d", n)
		}
		line, n, err = r.ReadLine()
	}
	if err != nil {
		t.Fatal(err)
	}
	if want := "+FULLRESYNC " + replID + " "; !strings.HasPrefix(string(line), want) {
		t.Fatalf("first line %q, want %q...", line, want)
	}
	line, _, err = r.ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	var mark []byte
	switch framing {
	case "length":
		size, err := strconv.ParseInt(string(line[1:]), 10, 64)
		if err != nil || size != rdbBytes {
			t.Fatalf("RDB header %q, want $%d", line, rdbBytes)
		}
	case "eof-marker":
		if !bytes.HasPrefix(line, []byte("$EOF:")) || len(line) != 45 {
			t.Fatalf("RDB header %q", line)
		}
		mark = append([]byte(nil), line[5:]...)
	}
	rdb := make([]byte, rdbBytes+int64(len(mark)))
	if _, err := io.ReadFull(r, rdb); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(rdb, []byte("REDIS")) || !bytes.HasSuffix(rdb, mark) {
		t.Fatal("RDB transfer does not start with REDIS or end with its mark")
	}
	start := r.Offset()
	var sum int64
	names := map[string]int{}
	for {
		args, n, err := r.ReadCommand()
		sum += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("at offset %d: %v", r.Offset(), err)
		}
		names[strings.ToUpper(string(args[0]))]++
	}
	if sum != streamBytes || r.Offset()-start != streamBytes {
		t.Fatalf("stream bytes: sum of n %d, offset moved %d, want %d", sum, r.Offset()-start, streamBytes)
	}
	if r.Offset() != total {
		t.Fatalf("Offset = %d, want the file size %d", r.Offset(), total)
	}
	for _, want := range []string{"SELECT", "SET", "MULTI", "EXEC"} {
		if names[want] == 0 {
			t.Errorf("no %s in the stream (saw %v)", want, names)
		}
	}
}
