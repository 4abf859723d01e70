package verify

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteReport writes a human-readable report of r to w.
func (r *Result) WriteReport(w io.Writer) error {
	bw := bufio.NewWriter(w)
	verdict := "EQUAL"
	if !r.Equal() {
		verdict = "DIFFERENT"
	}
	fmt.Fprintf(bw, "xsync verify: %s — %d differing keys after %d round(s) in %v\n", verdict, r.Total(), r.Rounds, r.Duration.Round(1e6))
	fmt.Fprintf(bw, "  source keys %d, target keys %d, excluded %d, too big to compare %d\n", r.SourceKeys, r.TargetKeys, r.Excluded, r.Skipped)
	per := make([]string, len(r.PerRound))
	for i, n := range r.PerRound {
		per[i] = strconv.FormatInt(n, 10)
	}
	fmt.Fprintf(bw, "  differing keys per round: %s\n", strings.Join(per, " -> "))
	parts := make([]string, 0, len(Kinds()))
	for _, k := range Kinds() {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Count(k)))
	}
	fmt.Fprintf(bw, "  %s\n", strings.Join(parts, ", "))
	for _, k := range Kinds() {
		if r.Count(k) == 0 {
			continue
		}
		fmt.Fprintf(bw, "%s (%d):\n", describe(k), r.Count(k))
		shown := 0
		for _, d := range r.Diffs {
			if d.Kind != k {
				continue
			}
			shown++
			fmt.Fprintf(bw, "  db%d %q  source: %s  target: %s\n", d.DB, d.Key, d.Source, d.Target)
		}
		if int64(shown) < r.Count(k) {
			fmt.Fprintf(bw, "  ... and %d more\n", r.Count(k)-int64(shown))
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("xsync/verify: write report: %w", err)
	}
	return nil
}

func describe(k Kind) string {
	switch k {
	case Missing:
		return "missing on target"
	case Extra:
		return "extra on target (db is the target's)"
	case Type:
		return "different type"
	case Value:
		return "different value"
	case TTL:
		return "different TTL"
	}
	return k.String()
}
