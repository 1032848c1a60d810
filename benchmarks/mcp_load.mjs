#!/usr/bin/env node
// Does a busy MCP client slow a transcode? The same transcode runs through pvt-mcp with and without load,
// alternating (round 1: plain then loaded, round 2: loaded then plain, ...), so drift in the machine's load
// hits both alike. The load is a closed loop of bursts for as long as the job runs: 50 concurrent tool
// calls (status, long-polls, list, capabilities, analyses of a small clip, refused paths and arguments)
// plus the malformed raw lines of tests/mcp/load.mjs (4 MiB broken lines, binary garbage, deep nesting,
// ...), one burst every --interval seconds (default 5: 60 requests and 30 raw lines, 6 MiB of it in
// two lines, every 5 s, far more than any model sends), or with --interval 0 the next burst as soon as
// every answer to the last one is in (as hard as the server can be pushed; a burst holds 1 s long-polls,
// so anything up to 1 s is the same). The load generator runs on the same machine, sharing its
// cores with the workers: the harsh case.
//
// Prints one line per run and the ratio of the median job times (loaded / plain); writes the figures as
// JSON and the table as text. The server's own figure is the engine's wall time (summary.wall_seconds); the
// client's (call to succeeded status) is reported beside it. Needs `npm ci` in tests/mcp (it reuses the
// test helpers), ffmpeg/ffprobe, and a built pvt-mcp. See benchmarks/README.md.
//
//   node benchmarks/mcp_load.mjs [--bin build/mcp/pvt-mcp] [--input FILE] [--preset veryfast]
//                                [--rounds 5] [--burst 50] [--interval 5] [--json-out FILE]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  RawServer, devServerArgs, makeTempDir, serverEnv, sleep,
} from '../tests/mcp/helpers.mjs';
import { escapeTargets, makeSandbox, malformedLines, toolCalls } from '../tests/mcp/load.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const o = {
    bin: process.env.PVT_MCP_BIN ?? path.join(repoRoot, 'build', 'mcp', 'pvt-mcp'),
    input: path.join(repoRoot, 'samples', 'big_buck_bunny_60s.mp4'),
    preset: 'veryfast',
    rounds: 5,
    burst: 50,
    interval: 5,
    jsonOut: path.join(repoRoot, 'benchmarks', 'results', `mcp_load-${os.hostname()}-${os.cpus().length}c.json`),
  };
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--bin') o.bin = path.resolve(v);
    else if (k === '--input') o.input = path.resolve(v);
    else if (k === '--preset') o.preset = v;
    else if (k === '--rounds') o.rounds = Number(v);
    else if (k === '--burst') o.burst = Number(v);
    else if (k === '--interval') o.interval = Number(v);
    else if (k === '--json-out') o.jsonOut = path.resolve(v);
    else { console.error(`mcp_load: unknown option ${k}`); process.exit(2); }
    i++;
  }
  if (!fs.existsSync(o.bin)) { console.error(`mcp_load: ${o.bin} is missing; build pvt-mcp first`); process.exit(1); }
  return o;
}

// CPU seconds the process itself used (not its waited-for children, the workers): what the server spends
// on the protocol, the tools and the job's own thread (probe, audio, assembly).
function ownCpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Bursts until `done()`; returns how many calls and raw lines were sent and answered.
async function generateLoad(server, ctx, done) {
  let bursts = 0;
  let calls = 0;
  let rawLines = 0;
  while (!done()) {
    const t0 = performance.now();
    const prefix = `b${bursts}-`;
    const batch = toolCalls(ctx.burst, { ...ctx, prefix });
    const raw = malformedLines(`${prefix}m`);
    const waiting = [...batch.map((c) => c.id), ...raw.answered];
    for (let i = 0; i < batch.length; i++) {
      server.send(batch[i].message);
      if (i < raw.lines.length) server.proc.stdin.write(raw.lines[i]);
    }
    for (const line of raw.lines.slice(batch.length)) server.proc.stdin.write(line);
    await Promise.all(waiting.map((id) => server.waitFor((m) => m.id === id && !('method' in m), 300_000)));
    // Answers pile up in the helper's list; only what is still awaited matters.
    server.lines.length = 0;
    bursts++;
    calls += waiting.length;
    rawLines += raw.lines.length;
    const rest = ctx.interval * 1000 - (performance.now() - t0);
    for (let waited = 0; waited < rest && !done(); waited += 50) await sleep(Math.min(50, rest - waited));
  }
  return { bursts, requests: calls, raw_lines: rawLines };
}

async function runOnce(o, loaded, round) {
  const base = await makeTempDir('pvt-mcp-bench-');
  try {
    const sandbox = await makeSandbox(base);
    const server = new RawServer(o.bin, devServerArgs(sandbox.out), serverEnv(), { cwd: sandbox.cwd });
    try {
      await server.initialize();
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const serverCpu0 = ownCpuSeconds(server.proc.pid);
      const started = await server.request('start', 'tools/call', {
        name: 'transcode_video',
        arguments: { input: o.input, output: 'load.mp4', format: 'mp4', preset: o.preset },
      }, 60_000);
      const jobId = started.result?.structuredContent?.job_id;
      if (!jobId) throw new Error(`transcode_video failed: ${JSON.stringify(started)}`);
      let finished = false;
      let final;
      const poll = (async () => {
        for (let i = 0; !finished; i++) {
          const r = await server.request(`poll${i}`, 'tools/call', {
            name: 'get_transcode_status', arguments: { job_id: jobId, wait_seconds: 30 },
          }, 300_000);
          const st = r.result.structuredContent;
          if (st.state !== 'queued' && st.state !== 'running') {
            final = st;
            finished = true;
          }
        }
      })();
      const ctx = { burst: o.burst, interval: o.interval, jobId, sampleClip: o.input, sandbox, targets: escapeTargets(sandbox, `bench${process.pid}`) };
      const load = loaded ? generateLoad(server, ctx, () => finished) : Promise.resolve(null);
      await poll;
      const clientS = (performance.now() - t0) / 1000;
      const served = await load;
      const cpu = process.cpuUsage(cpu0);
      const serverCpuS = ownCpuSeconds(server.proc.pid) - serverCpu0;
      if (final.state !== 'succeeded') throw new Error(`the job ${final.state}: ${final.error}`);
      const run = {
        round, loaded, wall_s: final.summary.wall_seconds, client_s: clientS, encode_s: final.summary.encode_seconds,
        fps: final.summary.fps, workers: final.summary.workers, server_cpu_s: serverCpuS,
        client_cpu_s: (cpu.user + cpu.system) / 1e6, ...(served ?? {}),
      };
      console.log(`round ${round} ${loaded ? 'loaded' : 'plain '}  job ${run.wall_s.toFixed(2)} s  client ${clientS.toFixed(2)} s`
        + `  cpu: server ${serverCpuS.toFixed(2)} s, load generator ${run.client_cpu_s.toFixed(2)} s`
        + (served ? `  ${served.requests} requests + ${served.raw_lines} raw lines in ${served.bursts} bursts` : ''));
      return run;
    } finally {
      server.proc.stdin.end();
      const t = setTimeout(() => server.proc.kill('SIGKILL'), 30_000);
      await server.exit;
      clearTimeout(t);
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

const o = parseArgs(process.argv.slice(2));
console.log(`pvt-mcp under load: ${path.basename(o.input)}, preset ${o.preset}, ${o.rounds} rounds, bursts of ${o.burst} calls `
  + `${o.interval > 0 ? `every ${o.interval} s` : 'back to back'}, `
  + `${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const runs = [];
for (let round = 1; round <= o.rounds; round++) {
  const order = round % 2 ? [false, true] : [true, false];
  for (const loaded of order) runs.push(await runOnce(o, loaded, round));
}
const pick = (loaded, key) => runs.filter((r) => r.loaded === loaded).map((r) => r[key]);
const summary = {
  plain_median_s: median(pick(false, 'wall_s')),
  loaded_median_s: median(pick(true, 'wall_s')),
  plain_client_median_s: median(pick(false, 'client_s')),
  loaded_client_median_s: median(pick(true, 'client_s')),
};
summary.ratio = summary.loaded_median_s / summary.plain_median_s;
summary.client_ratio = summary.loaded_client_median_s / summary.plain_client_median_s;
// Each round's two runs are back to back, so their ratio cancels slow drift in the machine's load.
summary.paired_ratio = median(Array.from({ length: o.rounds }, (_, i) => {
  const inRound = runs.filter((r) => r.round === i + 1);
  return inRound.find((r) => r.loaded).wall_s / inRound.find((r) => !r.loaded).wall_s;
}));
const extraCpu = (key) => median(pick(true, key)) - median(pick(false, key));
summary.extra_server_cpu_s = extraCpu('server_cpu_s');
summary.extra_client_cpu_s = extraCpu('client_cpu_s');
const table = [
  `median job time: plain ${summary.plain_median_s.toFixed(2)} s, loaded ${summary.loaded_median_s.toFixed(2)} s, `
    + `ratio ${summary.ratio.toFixed(3)} (target <= 1.10); median of the rounds' ratios ${summary.paired_ratio.toFixed(3)}`,
  `CPU the load cost (median loaded - median plain): server ${summary.extra_server_cpu_s.toFixed(2)} s, `
    + `load generator ${summary.extra_client_cpu_s.toFixed(2)} s`,
  `median client time: plain ${summary.plain_client_median_s.toFixed(2)} s, loaded ${summary.loaded_client_median_s.toFixed(2)} s, `
    + `ratio ${summary.client_ratio.toFixed(3)}`,
];
for (const line of table) console.log(line);
fs.mkdirSync(path.dirname(o.jsonOut), { recursive: true });
const meta = {
  date: new Date().toISOString(), host: os.hostname(), cores: os.cpus().length, input: o.input, preset: o.preset,
  rounds: o.rounds, burst: o.burst, interval_s: o.interval, load_average_at_start: os.loadavg(),
};
fs.writeFileSync(o.jsonOut, `${JSON.stringify({ ...meta, runs, summary }, null, 2)}\n`);
fs.writeFileSync(o.jsonOut.replace(/\.json$/, '.txt'),
  `${runs.map((r) => `round ${r.round} ${r.loaded ? 'loaded' : 'plain '} job ${r.wall_s.toFixed(2)} s client ${r.client_s.toFixed(2)} s`
    + ` cpu server ${r.server_cpu_s.toFixed(2)} s generator ${r.client_cpu_s.toFixed(2)} s`
    + (r.loaded ? ` ${r.requests} requests + ${r.raw_lines} raw lines in ${r.bursts} bursts` : '')).join('\n')}\n${table.join('\n')}\n`);
console.log(`wrote ${o.jsonOut}`);
process.exit(0);
