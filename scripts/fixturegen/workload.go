package main

import (
	"crypto/sha1"
	"encoding/hex"
)

// step is one workload command and the first version that has it.
type step struct {
	major, minor int
	args         []string
}

const (
	lua1      = "redis.call('set', KEYS[1], ARGV[1]); return redis.call('incr', KEYS[2])"
	luaLoaded = "return redis.call('rpush', KEYS[1], ARGV[1])"
	wlLibrary = "#!lua name=wl\nredis.register_function('wl_set', function(keys, args) return redis.call('set', keys[1], args[1]) end)"
)

func w(args ...string) step { return step{4, 0, args} }

func since(major, minor int, args ...string) step { return step{major, minor, args} }

// workload returns the commands a client sends during the capture, for version:
// what the replication stream can carry (see testdata/README.md). restore is the
// server's own DUMP of a small hash.
func workload(version, restore string) [][]string {
	sum := sha1.Sum([]byte(luaLoaded))
	sha := hex.EncodeToString(sum[:])
	steps := []step{
		w("SET", "w:str", "base"), w("APPEND", "w:str", "-appended"), w("SETRANGE", "w:str", "2", "ZZ"),
		w("SET", "w:ctr", "10"), w("INCR", "w:ctr"), w("INCRBY", "w:ctr", "5"), w("DECR", "w:ctr"), w("DECRBY", "w:ctr", "3"),
		w("INCRBYFLOAT", "w:float", "1.5"), w("GETSET", "w:getset", "new"),
		w("MSET", "w:m1", "1", "w:m2", "2"), w("MSETNX", "w:m3", "3", "w:m4", "4"),
		w("SETNX", "w:nx", "first"), w("SETNX", "w:nx", "second"),
		w("SETEX", "w:setex", "86400", "v"), w("PSETEX", "w:psetex", "86400000", "v"), w("SET", "w:exat", "v", "PX", "86400000"),
		w("SETBIT", "w:bits", "7", "1"), w("SET", "w:b1", "abc"), w("SET", "w:b2", "xyz"), w("BITOP", "AND", "w:bitop", "w:b1", "w:b2"),
		w("SET", "w:persist", "v", "EX", "1000"), w("PERSIST", "w:persist"),
		w("SET", "w:exp", "v"), w("EXPIRE", "w:exp", "86400"), w("SET", "w:pexp", "v"), w("PEXPIRE", "w:pexp", "86400000"),
		w("SET", "w:expat", "v"), w("EXPIREAT", "w:expat", "4102444800"), w("SET", "w:pexpat", "v"), w("PEXPIREAT", "w:pexpat", "4102444800001"),
		w("SET", "w:del", "v"), w("DEL", "w:del"), w("SET", "w:unlink", "v"), w("UNLINK", "w:unlink"),
		w("SET", "w:ren", "v"), w("RENAME", "w:ren", "w:renamed"), w("SET", "w:rennx", "v"), w("RENAMENX", "w:rennx", "w:rennx-target"),
		w("SET", "w:move", "v"), w("MOVE", "w:move", "3"),
		w("RPUSH", "w:list", "a", "b", "c", "d", "e", "f"), w("LPUSH", "w:list", "z"), w("LPUSHX", "w:list", "y"), w("RPUSHX", "w:list", "g"),
		w("LINSERT", "w:list", "BEFORE", "c", "bc"), w("LSET", "w:list", "0", "Y"), w("LREM", "w:list", "1", "d"),
		w("LPOP", "w:list"), w("RPOP", "w:list"), w("LTRIM", "w:list", "0", "4"), w("RPOPLPUSH", "w:list", "w:list2"),
		w("BLPOP", "w:list", "1"), w("BRPOP", "w:list", "1"), w("BRPOPLPUSH", "w:list", "w:list2", "1"),
		since(6, 2, "LMOVE", "w:list2", "w:list", "LEFT", "RIGHT"), w("RPUSH", "w:dup", "x", "x", "x"),
		w("SADD", "w:s1", "a", "b", "c", "d"), w("SADD", "w:s2", "c", "d", "e"), w("SREM", "w:s1", "a"), w("SMOVE", "w:s1", "w:s2", "b"),
		w("SPOP", "w:s1"), w("SDIFFSTORE", "w:sdiff", "w:s2", "w:s1"), w("SINTERSTORE", "w:sinter", "w:s2", "w:sdiff"), w("SUNIONSTORE", "w:sunion", "w:s1", "w:s2"),
		w("ZADD", "w:z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f"), w("ZINCRBY", "w:z", "10", "a"), w("ZREM", "w:z", "b"),
		w("ZREMRANGEBYRANK", "w:z", "0", "0"), w("ZREMRANGEBYSCORE", "w:z", "6", "6"),
		w("ZADD", "w:zlex", "0", "a", "0", "b", "0", "c", "0", "d"), w("ZREMRANGEBYLEX", "w:zlex", "[a", "[b"),
		w("ZUNIONSTORE", "w:zunion", "2", "w:z", "w:zlex"), w("ZINTERSTORE", "w:zinter", "2", "w:z", "w:zunion"),
		w("GEOADD", "w:geo", "2.3522", "48.8566", "Paris"),
		w("PFADD", "w:hll1", "a", "b"), w("PFADD", "w:hll2", "c"), w("PFMERGE", "w:hllm", "w:hll1", "w:hll2"),
		w("HSET", "w:h", "a", "1"), w("HMSET", "w:h", "b", "2", "c", "3"), w("HSETNX", "w:h", "a", "ignored"),
		w("HINCRBY", "w:h", "b", "40"), w("HINCRBYFLOAT", "w:h", "c", "0.25"), w("HDEL", "w:h", "c"),
		since(7, 4, "HSET", "w:hfe", "a", "1", "b", "2"), since(7, 4, "HPEXPIREAT", "w:hfe", "4102444800003", "FIELDS", "1", "a"),
		since(5, 0, "XADD", "w:x", "1-1", "f", "1"), since(5, 0, "XADD", "w:x", "1-2", "f", "2"), since(5, 0, "XADD", "w:x", "2-1", "f", "3"),
		since(5, 0, "XGROUP", "CREATE", "w:x", "grp", "0"),
		since(5, 0, "XREADGROUP", "GROUP", "grp", "alice", "COUNT", "2", "STREAMS", "w:x", ">"),
		since(5, 0, "XCLAIM", "w:x", "grp", "bob", "0", "1-1"), since(5, 0, "XACK", "w:x", "grp", "1-2"),
		since(5, 0, "XDEL", "w:x", "2-1"), since(5, 0, "XTRIM", "w:x", "MAXLEN", "5"),
		since(6, 2, "XGROUP", "CREATECONSUMER", "w:x", "grp", "carol"), since(6, 2, "XAUTOCLAIM", "w:x", "grp", "carol", "0", "0-0"),
		since(5, 0, "XSETID", "w:x", "9-9"),
		w("MULTI"), w("SET", "w:tx1", "a"), w("INCR", "w:txctr"), w("EXEC"),
		w("EVAL", lua1, "2", "w:lua1", "w:luactr", "from-lua"),
		w("SCRIPT", "LOAD", luaLoaded), w("EVALSHA", sha, "1", "w:luals", "e1"),
		since(7, 0, "FCALL", "echo_first", "0", "x"), since(7, 0, "FUNCTION", "LOAD", "REPLACE", wlLibrary),
		since(7, 0, "FCALL", "wl_set", "1", "w:fcall", "via-function"),
		since(6, 2, "SET", "w:getdel", "v"), since(6, 2, "GETDEL", "w:getdel"),
		since(6, 2, "SET", "w:getex", "v"), since(6, 2, "GETEX", "w:getex", "PXAT", "4102444800002"),
		since(6, 2, "COPY", "w:str", "w:copy"),
		w("PUBLISH", "chan", "msg"), w("RESTORE", "w:restored", "0", restore),
		w("SELECT", "5"), w("SET", "w5:a", "1"), w("FLUSHDB"), w("SET", "w5:after-flush", "1"),
		w("SELECT", "6"), w("SET", "w6:a", "db6"), w("SWAPDB", "6", "7"),
		w("SELECT", "0"), w("SET", "w:last", "done"),
	}
	var out [][]string
	for _, s := range steps {
		if atLeast(version, s.major, s.minor) {
			out = append(out, s.args)
		}
	}
	return out
}
