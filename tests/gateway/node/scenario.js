// ioredis through the xsync gateway: MULTI/EXEC, WATCH transactions, pipelines
// and pub/sub for a given time; prints "ready" once connected, then one JSON
// line with what each scenario saw (operations, errors, reconnects, p99) and
// the counts of acknowledged writes. Usage: node scenario.js <port> <seconds>
'use strict';
const Redis = require('ioredis');

const port = Number(process.argv[2]);
const seconds = Number(process.argv[3] || 3);
let reconnects = 0;
const client = () => {
  const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null, enableOfflineQueue: true });
  c.on('reconnecting', () => { reconnects++; });
  c.on('error', () => {});
  return c;
};

function stats(name) {
  return { name, ops: 0, errors: 0, nulls: 0, lats: [], firstError: '' };
}
function done(s, start, err) {
  if (err) {
    s.errors++;
    if (!s.firstError) s.firstError = String(err);
    return;
  }
  s.ops++;
  s.lats.push(Number(process.hrtime.bigint() - start) / 1e6);
}
function p99(l) {
  if (l.length === 0) return 0;
  const s = [...l].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))];
}

async function main() {
  const tx = client(), watcher = client(), piper = client(), sub = client(), pub = client();
  await Promise.all([tx, watcher, piper, sub, pub].map((c) => c.ping()));
  const received = new Set();
  sub.on('message', (_ch, msg) => received.add(msg));
  await sub.subscribe('node-news');
  const acked = { multi: 0, watch: 0, pipeline: 0 };
  const published = [];
  const all = [stats('ioredis multi/exec'), stats('ioredis watch'), stats('ioredis pipeline'), stats('ioredis publish')];
  const [sm, sw, sp, spub] = all;
  let stop = false;
  process.stdout.write('ready\n');
  setTimeout(() => { stop = true; }, seconds * 1000);

  const loops = [
    (async () => {
      while (!stop) {
        const start = process.hrtime.bigint();
        try {
          const r = await tx.multi().incr('{node}multi').incr('{node}multi').exec();
          if (r.some(([e]) => e)) throw r.find(([e]) => e)[0];
          acked.multi += 2;
          done(sm, start);
        } catch (e) { done(sm, start, e); }
      }
    })(),
    (async () => {
      while (!stop) {
        const start = process.hrtime.bigint();
        try {
          await watcher.watch('{node}watch');
          const n = Number(await watcher.get('{node}watch')) || 0;
          const r = await watcher.multi().set('{node}watch', n + 1).exec();
          if (r === null) { sw.nulls++; continue; }
          acked.watch++;
          done(sw, start);
        } catch (e) { done(sw, start, e); }
      }
    })(),
    (async () => {
      while (!stop) {
        const start = process.hrtime.bigint();
        try {
          const p = piper.pipeline();
          for (let i = 0; i < 10; i++) p.incr('node:pipe');
          const r = await p.exec();
          if (r.some(([e]) => e)) throw r.find(([e]) => e)[0];
          acked.pipeline += 10;
          done(sp, start);
        } catch (e) { done(sp, start, e); }
      }
    })(),
    (async () => {
      let seq = 0;
      while (!stop) {
        const start = process.hrtime.bigint();
        const v = String(++seq);
        try {
          await pub.publish('node-news', v);
          published.push(v);
          done(spub, start);
        } catch (e) { done(spub, start, e); }
        await new Promise((r) => setTimeout(r, 1));
      }
    })(),
  ];
  await Promise.all(loops);
  await new Promise((r) => setTimeout(r, 200)); // the last messages in flight
  const lost = published.filter((v) => !received.has(v)).length;
  const out = {
    acked, reconnects, published: published.length, lost,
    scenarios: all.map((s) => ({ name: s.name, ops: s.ops, errors: s.errors, nulls: s.nulls, p99_ms: Number(p99(s.lats).toFixed(3)), first_error: s.firstError })),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  for (const c of [tx, watcher, piper, sub, pub]) c.disconnect();
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
