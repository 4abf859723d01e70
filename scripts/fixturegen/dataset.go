package main

import (
	"strconv"
	"strings"
)

// fixtureLibrary is the function library of the dataset (Redis 7.0+); the
// workload calls it with FCALL.
const fixtureLibrary = "#!lua name=fixturelib\nredis.register_function('echo_first', function(keys, args) return args[1] end)"

// loadDataset writes the fixture dataset into an empty server: every type in
// every encoding the version has (see testdata/README.md).
func loadDataset(c *client, version string) {
	// Strings: integer, embedded, raw, LZF-compressible, binary, empty, 64 KiB.
	c.must("SET", "str:int", "12345")
	c.must("SET", "str:negint", "-42")
	c.must("SET", "str:int64max", "9223372036854775807")
	c.must("SET", "str:embstr", "hello")
	c.must("SET", "str:raw-compressible", strings.Repeat("abcdefgh", 100))
	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	c.must("SET", "str:binary", string(bin))
	c.must("SET", "str:crlf-nul", "a\r\nb\x00c")
	c.must("SET", "str:utf8", "héllo 世界")
	c.must("SET", "str:empty", "")
	c.must("SET", "str:big", strings.Repeat("0123456789abcdef", 4096))
	c.must("SET", "str:expire", "ttl")
	c.must("PEXPIREAT", "str:expire", "4102444800123")
	c.must("SET", "key\x00\xff\r\nbinary-name", "v")
	c.must("SET", strings.Repeat("k", 1000), "long key name")

	// HyperLogLog sparse and dense, a bitmap.
	c.must(append([]string{"PFADD", "hll:sparse"}, seq("m%d", 0, 100)...)...)
	for i := 0; i < 5000; i += 1000 {
		c.must(append([]string{"PFADD", "hll:dense"}, seq("d%d", i, i+1000)...)...)
	}
	c.must("SETBIT", "bitmap", "3", "1")
	c.must("SETBIT", "bitmap", "1000007", "1")

	// Lists: small (ziplist/listpack), large (quicklist), compressed, big elements.
	c.must("RPUSH", "list:small", "a", "1", "-2", "bb", "3000000000")
	large := make([]string, 0, 2000)
	for i := 0; i < 2000; i++ {
		if i%3 == 0 {
			large = append(large, "item-"+strconv.Itoa(i))
		} else {
			large = append(large, strconv.Itoa(i))
		}
	}
	for i := 0; i < len(large); i += 500 {
		c.must(append([]string{"RPUSH", "list:large"}, large[i:i+500]...)...)
	}
	comp := make([]string, 200)
	for i := range comp {
		comp[i] = strings.Repeat("compressible-"+strconv.Itoa(i)+"-", 40)
	}
	c.must(append([]string{"RPUSH", "list:compressed"}, comp...)...)
	c.must("RPUSH", "list:bigvalue", strings.Repeat("x", 100000), "small", strings.Repeat("y", 70000))

	// Sets: intset, small strings (listpack in 7.2+), large (hashtable).
	c.must(append([]string{"SADD", "set:intset"}, seq("%d", -20, 30)...)...)
	c.must("SADD", "set:small-strings", "apple", "banana", "cherry", "7")
	c.must(append([]string{"SADD", "set:large"}, seq("member-%d", 0, 1000)...)...)

	// Sorted sets: small with infinities and fractions, large (skiplist), GEO.
	c.must("ZADD", "zset:small", "-inf", "neg-inf", "-3", "minus-three", "0", "zero", "1", "one", "2.5", "two-and-half", "+inf", "pos-inf")
	z := []string{"ZADD", "zset:large"}
	for i := 0; i < 500; i++ {
		z = append(z, strconv.FormatFloat(float64(i)/7, 'g', -1, 64), "m"+strconv.Itoa(i))
	}
	c.must(z...)
	c.must("GEOADD", "geo", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania")

	// Hashes: small, large, long values.
	c.must("HSET", "hash:small", "f1", "v1")
	c.must("HSET", "hash:small", "f2", "22")
	c.must("HSET", "hash:small", "f3", "-3")
	h := []string{"HMSET", "hash:large"}
	for i := 0; i < 1000; i++ {
		h = append(h, "field-"+strconv.Itoa(i), "value-"+strconv.Itoa(i))
	}
	c.must(h...)
	c.must("HMSET", "hash:bigvalue", "small", "1", "big", strings.Repeat("z", 100))

	if atLeast(version, 5, 0) {
		loadStreams(c)
	}
	if atLeast(version, 7, 4) {
		// Hash fields with their own expire times, small (listpack_ex) and large.
		c.must("HSET", "hash:fieldttl-small", "a", "1", "b", "2", "c", "3")
		c.must("HPEXPIREAT", "hash:fieldttl-small", "4102444800007", "FIELDS", "2", "a", "c")
		ft := []string{"HSET", "hash:fieldttl-large"}
		for i := 0; i < 600; i++ {
			ft = append(ft, "f"+strconv.Itoa(i), "v"+strconv.Itoa(i))
		}
		c.must(ft...)
		c.must("HPEXPIREAT", "hash:fieldttl-large", "4102444800009", "FIELDS", "3", "f1", "f2", "f599")
	}
	if atLeast(version, 7, 0) {
		c.must("FUNCTION", "LOAD", fixtureLibrary)
	}

	// Other databases.
	c.must("SELECT", "3")
	c.must("SET", "db3:str", "in db 3")
	c.must("RPUSH", "db3:list", "x", "y")
	c.must("SELECT", "15")
	c.must("HSET", "db15:hash", "a", "b")
	c.must("PEXPIREAT", "db15:hash", "4102444800015")
	c.must("SELECT", "0")
}

// loadStreams writes the streams (5.0+): deleted entries before the groups read
// (so that 7.0+ cannot know the groups' entries_read), pending entries of two
// consumers, a group at the end, a large stream and an empty one with a group.
func loadStreams(c *client) {
	for i := 1; i <= 100; i++ {
		id := strconv.Itoa(1000+i/10) + "-" + strconv.Itoa(i%10)
		c.must("XADD", "stream:s1", id, "f", "v"+strconv.Itoa(i), "n", strconv.Itoa(i))
	}
	c.must("XDEL", "stream:s1", "1001-0", "1001-1")
	c.must("XGROUP", "CREATE", "stream:s1", "g1", "0")
	c.must("XREADGROUP", "GROUP", "g1", "c1", "COUNT", "10", "STREAMS", "stream:s1", ">")
	c.must("XREADGROUP", "GROUP", "g1", "c2", "COUNT", "5", "STREAMS", "stream:s1", ">")
	c.must("XACK", "stream:s1", "g1", "1000-1")
	c.must("XGROUP", "CREATE", "stream:s1", "g2", "$")
	for i := 1; i <= 1200; i += 100 {
		for j := i; j < i+100; j++ {
			c.must("XADD", "stream:large", strconv.Itoa(j)+"-0", "field", "value-"+strconv.Itoa(j))
		}
	}
	c.must("XGROUP", "CREATE", "stream:empty", "g", "$", "MKSTREAM")
}

// seq formats n numbers from lo (inclusive) to hi (exclusive).
func seq(format string, lo, hi int) []string {
	out := make([]string, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, strings.Replace(format, "%d", strconv.Itoa(i), 1))
	}
	return out
}

// dumpPayload returns the DUMP of a small hash made on the server itself, for
// the workload's RESTORE; the key is gone before anything is saved.
func dumpPayload(c *client) string {
	c.must("HSET", "fixture:dump", "a", "1", "b", "42")
	v := c.must("DUMP", "fixture:dump")
	c.must("DEL", "fixture:dump")
	return string(v.Str)
}
