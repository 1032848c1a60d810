// pvt-mcp under load (issue 6): while a transcode runs, 50 concurrent tool calls (status, list,
// capabilities, analyses, bad arguments, paths that climb out, absolute paths elsewhere, symlinks that
// escape, planted job folders) and a stream of raw lines that are not proper JSON-RPC (broken JSON, huge
// lines, wrong types, unknown methods, binary garbage, batches, notifications with ids, deep nesting).
// The server answers every request that has an id, stdout carries JSON-RPC only, the transcode completes
// and ffprobe counts every frame, and nothing around the output directory changes. How much the load
// slows the transcode is a benchmark, not a test: benchmarks/mcp_load.mjs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  RawServer, devServerArgs, ffprobe, makeTempDir, sampleClip, serverBinary, serverEnv, sleep,
} from './helpers.mjs';
import { escapeTargets, makeSandbox, malformedLines, snapshot, toolCalls } from './load.mjs';

assert.ok(fs.existsSync(serverBinary), `${serverBinary} is missing: build it first (ninja -C build pvt-mcp)`);

const videoFrames = async (file) => {
  const probe = await ffprobe(file);
  return Number(probe.streams.find((s) => s.codec_type === 'video').nb_read_packets);
};

describe('pvt-mcp under load', () => {
  let base;
  let sandbox;
  before(async () => {
    base = await makeTempDir('pvt-mcp-load-');
    sandbox = await makeSandbox(base);
  });
  after(async () => { await fsp.rm(base, { recursive: true, force: true }); });

  it('answers 50 concurrent calls and malformed input during a transcode, and writes only in its output dir', async () => {
    const targets = escapeTargets(sandbox, process.pid);
    const existedBefore = Object.fromEntries(Object.entries(targets).map(([k, p]) => [k, fs.existsSync(p)]));
    const around = snapshot(base, ['out']);
    const inside = snapshot(sandbox.out);
    const tmpBefore = new Set(fs.readdirSync('/tmp').filter((n) => n.startsWith('pvt-mcp-load-')));

    const s = new RawServer(serverBinary, devServerArgs(sandbox.out),
      serverEnv({ HOME: sandbox.home, TMPDIR: sandbox.tmp }), { cwd: sandbox.cwd });
    let code;
    try {
      await s.initialize();
      const started = await s.request('start', 'tools/call', {
        name: 'transcode_video',
        arguments: { input: sampleClip, output: 'load.mp4', format: 'mp4', preset: 'fast' },
      });
      const jobId = started.result?.structuredContent?.job_id;
      assert.ok(jobId, `transcode started: ${JSON.stringify(started)}`);

      // One burst: the 50 calls, with the raw lines written between them.
      const calls = toolCalls(50, { prefix: 'c', jobId, sampleClip, sandbox, targets });
      const raw = malformedLines('m');
      const mark = s.lines.length;
      for (let i = 0; i < calls.length; i++) {
        s.send(calls[i].message);
        if (i < raw.lines.length) s.proc.stdin.write(raw.lines[i]);
      }
      for (const line of raw.lines.slice(calls.length)) s.proc.stdin.write(line);
      const statusNow = await s.request('during', 'tools/call', {
        name: 'get_transcode_status', arguments: { job_id: jobId },
      }, 60_000);
      assert.equal(statusNow.result.structuredContent.state, 'running', 'the burst came while the job ran');

      const responses = new Map();
      const deadline = Date.now() + 180_000;
      const wanted = [...calls.map((c) => c.id), ...raw.answered];
      while (wanted.some((id) => !responses.has(id)) && Date.now() < deadline) {
        for (const m of s.lines.slice(mark)) if ('id' in m && !('method' in m)) responses.set(m.id, m);
        await sleep(100);
      }
      const missing = wanted.filter((id) => !responses.has(id));
      assert.deepEqual(missing, [], `every request with an id is answered; stderr: ${s.stderr.slice(-2000)}`);

      const failures = [];
      for (const c of calls) {
        const r = responses.get(c.id);
        const name = c.message.params.name;
        const got = r.error ? 'rpcError' : r.result?.isError ? 'isError' : 'ok';
        if (got !== c.expect) failures.push(`${c.id} ${name} ${JSON.stringify(c.message.params.arguments)}: ${got} ${JSON.stringify(r).slice(0, 300)}`);
        if (name === 'list_transcodes' && got === 'ok') {
          const jobs = r.result.structuredContent.jobs;
          if (jobs.length !== 1 || jobs[0].job_id !== jobId) failures.push(`${c.id}: listed ${JSON.stringify(jobs.map((j) => j.job_id))}`);
        }
      }
      assert.deepEqual(failures, [], 'each call gets the answer it should');
      for (const id of raw.answered) assert.ok(responses.get(id).error || responses.get(id).result, id);
      const huge = JSON.stringify(responses.get('mhuge'));
      assert.match(huge, /too long/, 'a 512 KiB path is refused as too long');
      assert.ok(huge.length < 2000, `the refusal does not echo the path back (${huge.length} bytes)`);
      const tooLong = s.lines.slice(mark).filter((m) => m.id === null && /message too long/.test(m.error?.message));
      assert.equal(tooLong.length, 2, 'the two lines over 1 MiB are answered "message too long"');
      const stray = s.lines.filter((m) => raw.unanswered.includes(m.id));
      assert.deepEqual(stray, [], 'no answer to batch members or client responses');
      const nullIds = s.lines.slice(mark).filter((m) => m.id === null && m.error);
      assert.ok(nullIds.length >= 8, `parse errors and invalid requests answered with id null: ${nullIds.length}`);
      assert.deepEqual(s.badLines, [], 'stdout carried JSON-RPC only');

      // The job still runs to the end, and its output is whole.
      let st;
      for (let i = 0; ; i++) {
        const r = await s.request(`poll${i}`, 'tools/call', {
          name: 'get_transcode_status', arguments: { job_id: jobId, wait_seconds: 30 },
        }, 60_000);
        st = r.result.structuredContent;
        if (st.state !== 'running' && st.state !== 'queued') break;
      }
      assert.equal(st.state, 'succeeded', `the transcode under load: ${JSON.stringify(st.error)}`);
      const probe = await ffprobe(sampleClip);
      const frames = Number(probe.streams.find((x) => x.codec_type === 'video').nb_read_packets);
      assert.equal(await videoFrames(path.join(sandbox.out, 'load.mp4')), frames);
      const list = await s.request('final-list', 'tools/call', { name: 'list_transcodes', arguments: {} });
      assert.deepEqual(list.result.structuredContent.jobs.map((j) => j.job_id), [jobId], 'no refused call started a job');
      assert.deepEqual((await s.request('final-ping', 'ping')).result, {});
    } finally {
      s.proc.stdin.end();
      const t = setTimeout(() => s.proc.kill('SIGKILL'), 30_000);
      ({ code } = await s.exit);
      clearTimeout(t);
    }
    assert.equal(code, 0, `exits 0 at end of input; stderr: ${s.stderr.slice(-2000)}`);

    // Nothing changed around the output directory, and inside it only the output appeared.
    assert.deepEqual(snapshot(base, ['out']), around, 'outside, sentinel, cwd, home and tmp unchanged');
    const insideAfter = snapshot(sandbox.out);
    const added = Object.keys(insideAfter).filter((k) => !(k in inside));
    const removed = Object.keys(inside).filter((k) => !(k in insideAfter));
    assert.deepEqual(added, ['load.mp4'], 'only the output was added');
    assert.deepEqual(removed, [], 'nothing was removed (the planted job folders included)');
    for (const [k, p] of Object.entries(targets)) assert.equal(fs.existsSync(p), existedBefore[k], `${p}`);
    const tmpAfter = fs.readdirSync('/tmp').filter((n) => n.startsWith('pvt-mcp-load-') && !tmpBefore.has(n));
    assert.deepEqual(tmpAfter.filter((n) => n.endsWith('-x.mp4')), [], 'nothing in /tmp');
  });
});
