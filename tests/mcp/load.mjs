// The load a busy or hostile client puts on pvt-mcp, shared by tests/mcp/load.test.mjs (the server keeps
// answering and writes nothing outside its output directory) and benchmarks/mcp_load.mjs (how much the
// load slows a transcode): a sandbox with traps around it, a mix of tool calls, and raw lines that are not
// proper JSON-RPC.
import { execFile as execFileCb } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const execFile = promisify(execFileCb);

// base/out is the output directory; around it, what the server must never touch: base/outside (the target
// of symlinks planted in out/), base/sentinel (files with known content), base/cwd, base/home and
// base/tmp (the server's working directory, HOME and TMPDIR). In out/: a small clip to analyze, symlinks
// that lead out, and job folders that must not be believed (one through a symlink, one whose state
// names an output elsewhere).
export async function makeSandbox(base) {
  const dirs = {};
  for (const name of ['out', 'outside', 'sentinel', 'cwd', 'home', 'tmp']) {
    dirs[name] = path.join(base, name);
    fs.mkdirSync(dirs[name], { recursive: true });
  }
  const out = dirs.out;
  for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(dirs.sentinel, `file${i}.txt`), `sentinel ${i}\n`);
  fs.mkdirSync(path.join(dirs.sentinel, 'nested'));
  fs.writeFileSync(path.join(dirs.sentinel, 'nested', 'deep.txt'), 'deep\n');
  await execFile('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=duration=2:size=160x120:rate=25',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', path.join(out, 'small.mp4')]);
  fs.symlinkSync(dirs.outside, path.join(out, 'escape'));
  fs.symlinkSync('/etc', path.join(out, 'etc'));
  fs.symlinkSync(path.join(dirs.outside, 'dangling.mp4'), path.join(out, 'dangling.mp4'));
  const fakeState = (output, jobId) => JSON.stringify({
    version: 1, job_id: jobId, output, format: 'mp4',
    input: { path: '/etc/passwd', size: 1, mtime_ns: 1, sample_sha256: '', frames: 10 },
    settings: {}, threads_per_worker: 1, plan_basis: 'index', plan: [], finished: [],
    status: 'interrupted', message: 'planted by the test', started: '', updated: '', pid: 1,
  });
  const evil = path.join(dirs.outside, '.evil.mp4.pvt-job');
  fs.mkdirSync(evil);
  fs.writeFileSync(path.join(evil, 'job.json'), fakeState(path.join(dirs.outside, 'evil.mp4'), '666-1'));
  fs.symlinkSync(evil, path.join(out, '.evil.mp4.pvt-job'));
  const lure = path.join(out, '.lure.mp4.pvt-job');
  fs.mkdirSync(lure);
  fs.writeFileSync(path.join(lure, 'job.json'), fakeState(path.join(dirs.outside, 'lure.mp4'), '666-2'));
  return { ...dirs, trapIds: ['resume-666-1', 'resume-666-2'] };
}

// Every file and folder under dir with a digest of each file's content, symlinks not followed; `skip`:
// top-level names left out.
export function snapshot(dir, skip = []) {
  const out = {};
  const walk = (d, rel) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && skip.includes(e.name)) continue;
      const p = path.join(d, e.name);
      if (e.isSymbolicLink()) out[r] = `-> ${fs.readlinkSync(p)}`;
      else if (e.isDirectory()) { out[`${r}/`] = 'dir'; walk(p, r); }
      else out[r] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir, '');
  return out;
}

// Hostile absolute paths outside the sandbox that a refused call would have created.
export function escapeTargets(sandbox, tag) {
  return {
    tmpAbsolute: path.join('/tmp', `pvt-mcp-load-${tag}-x.mp4`),
    climbed: path.resolve(sandbox.out, '../../etc/x'),
  };
}

// n tools/call requests (id prefix `prefix`), cycling through reads, analyses and every kind of bad
// argument and path. Each: { id, message, expect: 'ok' | 'isError' | 'rpcError' }.
export function toolCalls(n, { prefix, jobId, sampleClip, sandbox, targets }) {
  const kinds = [
    ['get_transcode_status', { job_id: jobId }, 'ok'],
    ['get_transcode_status', { job_id: jobId, wait_seconds: 1 }, 'ok'],
    ['list_transcodes', {}, 'ok'],
    ['get_capabilities', {}, 'ok'],
    ['analyze_video', { path: 'small.mp4' }, 'ok'],
    ['transcode_video', { input: sampleClip, output: '../../etc/x', format: 'hls' }, 'isError'],
    ['transcode_video', { input: sampleClip, output: targets.tmpAbsolute, format: 'mp4' }, 'isError'],
    ['transcode_video', { input: sampleClip, output: 'escape/x.mp4', format: 'mp4' }, 'isError'],
    ['transcode_video', { input: sampleClip, output: 'etc/pvt', format: 'hls' }, 'isError'],
    ['transcode_video', { input: sampleClip, output: 'dangling.mp4', format: 'mp4' }, 'isError'],
    ['transcode_video', { input: sampleClip, output: 'load.mp4', format: 'mp4' }, 'isError'], // busy/exists
    ['transcode_video', { input: sampleClip, crf: 'high' }, 'isError'],
    ['transcode_video', { input: sampleClip, output: 'x.mp4', format: 'mp4', cfr: 20 }, 'isError'],
    ['transcode_video', { resume_job_id: '../../etc/passwd' }, 'isError'],
    ['transcode_video', { resume_job_id: sandbox.trapIds[0] }, 'isError'],
    ['transcode_video', { resume_job_id: sandbox.trapIds[1] }, 'isError'],
    ['get_transcode_status', { job_id: '../../etc/passwd' }, 'isError'],
    ['cancel_transcode', { job_id: sandbox.trapIds[1] }, 'isError'],
    ['analyze_video', { path: '/etc/passwd' }, 'isError'],
    ['analyze_video', { path: 'escape' }, 'isError'],
    ['no_such_tool', {}, 'rpcError'],
    ['get_transcode_status', 'not an object', 'rpcError'],
  ];
  const calls = [];
  for (let i = 0; i < n; i++) {
    const [name, args, expect] = kinds[i % kinds.length];
    const id = `${prefix}${i}`;
    calls.push({ id, expect, message: { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } } });
  }
  return calls;
}

// Raw lines (Buffers, newline included) that are not proper requests. `answered`: the ids that must get a
// response (requests, however odd); `unanswered`: ids that must not (inside a batch, client responses).
export function malformedLines(prefix) {
  const lines = [];
  const text = (s) => lines.push(Buffer.from(`${s}\n`));
  const json = (m) => text(JSON.stringify(m));
  const answered = [];
  const req = (id, method, params) => {
    answered.push(id);
    json({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
  };
  text('not json');
  text('{"jsonrpc":"2.0","id":"trunc","method":"ping"');
  text('');
  text('   \r');
  text(`{"garbage":"${'x'.repeat(4 << 20)}"`); // 4 MiB, broken: over the 1 MiB message limit, dropped unread
  // A well-formed request over the limit: answered with id null ("message too long"), not by its id.
  json({ jsonrpc: '2.0', id: `${prefix}over`, method: 'tools/call', params: { name: 'analyze_video', arguments: { path: 'a'.repeat(2 << 20) } } });
  // Under the limit, but far longer than any path: refused by the argument check (its answer must not
  // echo it back whole).
  req(`${prefix}huge`, 'tools/call', { name: 'analyze_video', arguments: { path: 'a'.repeat(512 << 10) } });
  req(`${prefix}wt1`, 'tools/call', { name: 'get_transcode_status', arguments: { job_id: 42 } });
  req(`${prefix}wt2`, 'tools/call', 'params as a string');
  req(`${prefix}wt3`, 'tools/call', { name: ['analyze_video'] });
  answered.push(`${prefix}wt4`);
  json({ jsonrpc: 2, id: `${prefix}wt4`, method: 'ping' });
  answered.push(`${prefix}wt5`);
  json({ jsonrpc: '2.0', id: `${prefix}wt5`, method: 42 });
  json({ jsonrpc: '2.0', id: { nested: true }, method: 'ping' });
  json({ jsonrpc: '2.0', id: true, method: 'ping' });
  req(`${prefix}um1`, 'resources/list');
  req(`${prefix}um2`, '../../etc/passwd');
  req(`${prefix}nid`, 'notifications/initialized'); // a notification's method, sent with an id
  req(`${prefix}init`, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } });
  const unanswered = [`${prefix}b1`, `${prefix}b2`, `${prefix}resp`, `${prefix}over`];
  json([{ jsonrpc: '2.0', id: `${prefix}b1`, method: 'ping' }, { jsonrpc: '2.0', id: `${prefix}b2`, method: 'ping' }]);
  json([]);
  json({ jsonrpc: '2.0', id: `${prefix}resp`, result: {} }); // a response, from the client
  json({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'never-sent' } });
  json({ jsonrpc: '2.0', method: 'notifications/unknown', params: [1, 2, 3] });
  const binary = crypto.randomBytes(64 * 1024);
  for (let i = 0; i < binary.length; i++) if (binary[i] === 0x0a) binary[i] = 0x00;
  lines.push(Buffer.concat([binary, Buffer.from('\n')]));
  lines.push(Buffer.from('{"jsonrpc":"2.0","id":"utf8","method":"ping","params":{"x":"\xff\xfe"}}\n', 'latin1'));
  text(`${'['.repeat(100000)}${']'.repeat(100000)}`);
  text(`${'{"a":'.repeat(50000)}1${'}'.repeat(50000)}`);
  text('{"jsonrpc":"2.0","id":"nul","method":"ping"}\u0000{"more":1}');
  text('null');
  text('"a string"');
  text('12345678901234567890123456789');
  return { lines, answered, unanswered };
}
