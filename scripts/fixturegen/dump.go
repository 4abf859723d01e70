package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/xsync/xsync/resp"
)

// obj is a JSON object written with sorted keys and the separators ", " and
// ": ", one per line: the fixture format of testdata/README.md.
type obj map[string]any

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func writeJSON(w *bytes.Buffer, v any) {
	switch x := v.(type) {
	case obj:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				w.WriteString(", ")
			}
			writeJSON(w, k)
			w.WriteString(": ")
			writeJSON(w, x[k])
		}
		w.WriteByte('}')
	case []any:
		w.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				w.WriteString(", ")
			}
			writeJSON(w, e)
		}
		w.WriteByte(']')
	default:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			fatalf("json: %v", err)
		}
		w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	}
}

// dumpJSON writes the whole dataset of the server, read with ordinary commands
// (nothing of xsync's decoder), one key per line sorted by db then key bytes,
// then the function libraries.
func dumpJSON(c *client, version string, out io.Writer) error {
	var buf bytes.Buffer
	for db := 0; db < 16; db++ {
		c.must("SELECT", strconv.Itoa(db))
		var keys [][]byte
		cursor := "0"
		for {
			v := c.must("SCAN", cursor, "COUNT", "1000")
			cursor = string(v.Elems[0].Str)
			for _, k := range v.Elems[1].Elems {
				keys = append(keys, k.Str)
			}
			if cursor == "0" {
				break
			}
		}
		sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i], keys[j]) < 0 })
		for i, k := range keys {
			if i > 0 && bytes.Equal(k, keys[i-1]) {
				continue
			}
			o, err := dumpKey(c, version, db, k)
			if err != nil {
				return err
			}
			writeJSON(&buf, o)
			buf.WriteByte('\n')
		}
	}
	c.must("SELECT", "0")
	if atLeast(version, 7, 0) {
		libs := c.must("FUNCTION", "LIST", "WITHCODE")
		type lib struct{ name, code string }
		var ls []lib
		for _, l := range libs.Elems {
			m := fields(l)
			ls = append(ls, lib{string(m["library_name"].Str), string(m["library_code"].Str)})
		}
		sort.Slice(ls, func(i, j int) bool { return ls[i].name < ls[j].name })
		for _, l := range ls {
			writeJSON(&buf, obj{"function_library": l.name, "code": l.code})
			buf.WriteByte('\n')
		}
	}
	_, err := out.Write(buf.Bytes())
	return err
}

func dumpKey(c *client, version string, db int, key []byte) (obj, error) {
	k := string(key)
	typ := string(c.must("TYPE", k).Str)
	o := obj{"db": db, "key": b64(key), "type": typ}
	switch typ {
	case "string":
		o["value"] = b64(c.must("GET", k).Str)
	case "list":
		o["value"] = b64s(c.must("LRANGE", k, "0", "-1").Elems, false)
	case "set":
		o["value"] = b64s(c.must("SMEMBERS", k).Elems, true)
	case "zset":
		v := c.must("ZRANGE", k, "0", "-1", "WITHSCORES").Elems
		var pairs []any
		for i := 0; i+1 < len(v); i += 2 {
			pairs = append(pairs, []any{b64(v[i].Str), string(v[i+1].Str)})
		}
		o["value"] = orEmpty(pairs)
	case "hash":
		v := c.must("HGETALL", k).Elems
		type fv struct{ f, v []byte }
		var fvs []fv
		for i := 0; i+1 < len(v); i += 2 {
			fvs = append(fvs, fv{v[i].Str, v[i+1].Str})
		}
		sort.Slice(fvs, func(i, j int) bool { return bytes.Compare(fvs[i].f, fvs[j].f) < 0 })
		var pairs []any
		args := []string{"HPEXPIRETIME", k, "FIELDS", strconv.Itoa(len(fvs))}
		for _, p := range fvs {
			pairs = append(pairs, []any{b64(p.f), b64(p.v)})
			args = append(args, string(p.f))
		}
		o["value"] = orEmpty(pairs)
		if atLeast(version, 7, 4) {
			ttl := obj{}
			for i, t := range c.must(args...).Elems {
				if t.Int >= 0 {
					ttl[b64(fvs[i].f)] = t.Int
				}
			}
			if len(ttl) > 0 {
				o["field_expire_ms"] = ttl
			}
		}
	case "stream":
		if err := dumpStream(c, version, k, o); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("key %q: type %s is not in the fixture format", k, typ)
	}
	if atLeast(version, 7, 0) {
		if t := c.must("PEXPIRETIME", k).Int; t >= 0 {
			o["expire_ms"] = t
		}
	} else if t := c.must("PTTL", k).Int; t >= 0 {
		// No PEXPIRETIME before 7.0: the absolute time is approximate.
		o["expire_ms"] = time.Now().UnixMilli() + t
		o["expire_approx"] = true
	}
	return o, nil
}

func dumpStream(c *client, version, k string, o obj) error {
	var entries []any
	for _, e := range c.must("XRANGE", k, "-", "+").Elems {
		entries = append(entries, []any{string(e.Elems[0].Str), b64s(e.Elems[1].Elems, false)})
	}
	o["value"] = orEmpty(entries)
	info := fields(c.must("XINFO", "STREAM", k))
	st := obj{"length": info["length"].Int, "last_generated_id": string(info["last-generated-id"].Str)}
	v7 := atLeast(version, 7, 0)
	if v7 {
		st["max_deleted_entry_id"] = string(info["max-deleted-entry-id"].Str)
		st["entries_added"] = info["entries-added"].Int
	}
	var groups []any
	for _, g := range c.must("XINFO", "GROUPS", k).Elems {
		gm := fields(g)
		name := string(gm["name"].Str)
		grp := obj{"name": name, "last_delivered_id": string(gm["last-delivered-id"].Str)}
		if v7 {
			if er := gm["entries-read"]; er.Null {
				grp["entries_read"] = nil
			} else {
				grp["entries_read"] = er.Int
			}
		}
		var pel []any
		for _, p := range c.must("XPENDING", k, name, "-", "+", "1000000").Elems {
			pel = append(pel, []any{string(p.Elems[0].Str), string(p.Elems[1].Str), p.Elems[3].Int})
		}
		grp["pel"] = orEmpty(pel)
		var names []string
		for _, cs := range c.must("XINFO", "CONSUMERS", k, name).Elems {
			names = append(names, string(fields(cs)["name"].Str))
		}
		sort.Strings(names)
		cons := []any{}
		for _, n := range names {
			cons = append(cons, n)
		}
		grp["consumers"] = cons
		groups = append(groups, grp)
	}
	sort.Slice(groups, func(i, j int) bool {
		return strings.Compare(groups[i].(obj)["name"].(string), groups[j].(obj)["name"].(string)) < 0
	})
	st["groups"] = orEmpty(groups)
	o["stream"] = st
	return nil
}

func b64s(v []resp.Value, sorted bool) []any {
	bs := make([][]byte, len(v))
	for i := range v {
		bs[i] = v[i].Str
	}
	if sorted {
		sort.Slice(bs, func(i, j int) bool { return bytes.Compare(bs[i], bs[j]) < 0 })
	}
	out := make([]any, len(bs))
	for i, b := range bs {
		out[i] = b64(b)
	}
	return out
}

func orEmpty(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}
