#!/usr/bin/env bash
# Measures incremental apply throughput with and without checkpoints.
set -u
cd "$(dirname "$0")/.."
D=/tmp/ckcost; rm -rf $D; mkdir -p $D
start() { mkdir -p $D/$1; redis-server --port $1 --bind 127.0.0.1 --save "" --appendonly no --daemonize yes --dir $D/$1 --logfile $D/$1/log $2; }
start 22001 "--repl-backlog-size 256mb"
for p in 22011 22012 22013; do start $p "--cluster-enabled yes --cluster-config-file $D/$p/nodes.conf"; done
sleep 0.5
redis-cli --cluster create 127.0.0.1:22011 127.0.0.1:22012 127.0.0.1:22013 --cluster-yes >/dev/null 2>&1
sleep 2
offset() { redis-cli -p 22001 info replication | tr -d '\r' | grep master_repl_offset | cut -d: -f2; }
applied() { redis-cli -p 22090 info xsync | tr -d '\r' | grep '^shard0' | sed 's/.*applied_offset=\([0-9]*\).*/\1/'; }
for mode in true false true false; do
  for p in 22011 22012 22013; do redis-cli -p $p flushall >/dev/null; done
  redis-cli -p 22001 flushall >/dev/null
  ./bin/xsync sync --source redis://127.0.0.1:22001 --target redis://127.0.0.1:22011 --admin 127.0.0.1:22090 --progress off --checkpoints=$mode --log-file $D/xsync.log &
  X=$!
  until redis-cli -p 22090 info xsync 2>/dev/null | grep -q state:stream; do sleep 0.1; done
  t0=$(date +%s.%N)
  redis-benchmark -p 22001 -t set,incr,lpush -n 200000 -P 16 -r 1000000 -q > $D/bench.txt 2>&1
  t1=$(date +%s.%N)
  target=$(offset)
  until [ "$(applied)" -ge "$target" ] 2>/dev/null; do sleep 0.05; done
  t2=$(date +%s.%N)
  echo "checkpoints=$mode: 600000 commands; source took $(echo "$t1-$t0" | bc)s; applied after $(echo "$t2-$t0" | bc)s => $(echo "600000/($t2-$t0)" | bc) ops/s applied; $(tr '\r' '\n' < $D/bench.txt | grep 'requests per second' | tr '\n' ' ')"
  kill $X; wait $X 2>/dev/null
done
for p in 22001 22011 22012 22013; do redis-cli -p $p shutdown nosave >/dev/null 2>&1; done
