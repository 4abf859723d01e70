package fidelity

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
)

// grammar reads the source's COMMAND DOCS, or the captured one limited to
// the commands the source's COMMAND lists (servers before 7.0).
func (e *env) grammar() (Grammar, error) {
	ctx := context.Background()
	c := e.srcMasters[0]
	raw, err := rawCommand(ctx, c, "COMMAND", "DOCS")
	if err == nil {
		return ParseDocs(raw)
	}
	b, err := capturedDocs()
	if err != nil {
		return nil, err
	}
	g, err := ParseDocs(b)
	if err != nil {
		return nil, err
	}
	names, err := c.Do(ctx, "COMMAND").Slice()
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, n := range names {
		if info, ok := n.([]any); ok && len(info) > 0 {
			if s, ok := info[0].(string); ok {
				have[strings.ToLower(s)] = true
			}
		}
	}
	for n := range g {
		if !have[strings.Fields(n)[0]] {
			delete(g, n)
		}
	}
	return g, nil
}

// rawCommand runs a command and returns its reply re-encoded as RESP, for
// ParseDocs.
func rawCommand(ctx context.Context, c *redis.Client, args ...any) ([]byte, error) {
	v, err := c.Do(ctx, args...).Result()
	if err != nil {
		return nil, err
	}
	return encodeAny(nil, v), nil
}

func encodeAny(b []byte, v any) []byte {
	switch x := v.(type) {
	case []any:
		b = append(b, '*')
		b = appendInt(b, len(x))
		for _, e := range x {
			b = encodeAny(b, e)
		}
		return b
	case map[any]any:
		b = append(b, '*')
		b = appendInt(b, 2*len(x))
		for k, e := range x {
			b = encodeAny(b, k)
			b = encodeAny(b, e)
		}
		return b
	case string:
		b = append(b, '$')
		b = appendInt(b, len(x))
		b = append(b, x...)
		return append(b, '\r', '\n')
	case int64:
		b = append(b, ':')
		return appendInt(b, int(x))
	case nil:
		return append(b, "$-1\r\n"...)
	}
	return append(b, "$-1\r\n"...)
}

func appendInt(b []byte, n int) []byte {
	b = append(b, []byte(itoa(n))...)
	return append(b, '\r', '\n')
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var d []byte
	for n > 0 {
		d = append([]byte{byte('0' + n%10)}, d...)
		n /= 10
	}
	if neg {
		return "-" + string(d)
	}
	return string(d)
}

// genConfig is what the setup lets the generator send.
func (e *env) genConfig(g Grammar) genConfig {
	return genConfig{
		clusterSource: e.srcCluster != nil,
		dbs:           e.dbs,
		swapdb:        e.setup == StandaloneToStandalone,
		copyDBs:       copyDBs(e),
		functions:     g["function load"] != nil,
	}
}

func copyDBs(e *env) int {
	if e.srcCluster != nil {
		return 0
	}
	return 4
}
