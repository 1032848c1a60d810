// Job state across servers (issue 6): a server stopped mid-job (SIGTERM, end of input, SIGKILL) leaves the
// job's state and finished segments in its hidden job folder; the next server lists the job as
// interrupted and transcode_video finishes it, reusing those segments, through resume_job_id or the same
// arguments again. cancel_transcode, by contrast, leaves nothing: no job folder and no output. ffprobe
// judges every output.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  RawServer, connect, devServerArgs, ffprobe, listTree, makeTempDir, resultText, sampleClip, serverBinary,
  serverEnv, sleep,
} from './helpers.mjs';

assert.ok(fs.existsSync(serverBinary), `${serverBinary} is missing: build it first (ninja -C build pvt-mcp)`);

const LONG = { timeout: 600_000 };
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);
// Slow enough that a job is still running when a few of its 4 s segments are done, on any machine.
const PRESET = 'medium';

function structured(result, what) {
  assert.notEqual(result.isError, true, `${what} failed: ${resultText(result)}`);
  return result.structuredContent;
}

async function inputFrames() {
  const probe = await ffprobe(sampleClip);
  return Number(probe.streams.find((s) => s.codec_type === 'video').nb_read_packets);
}

async function videoFrames(file) {
  const probe = await ffprobe(file);
  return Number(probe.streams.find((s) => s.codec_type === 'video').nb_read_packets);
}

// Waits for a process to be gone (node reaps its own children).
async function waitGone(pid, ms = 30_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
  assert.fail(`process ${pid} still alive after ${ms} ms`);
}

// Processes whose command line names `needle` (the job folder: every worker's descriptor is in it).
function processesMentioning(needle) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) found.push(Number(entry));
    } catch { /* gone */ }
  }
  return found;
}

function readState(jobDir) {
  return JSON.parse(fs.readFileSync(path.join(jobDir, 'job.json'), 'utf8'));
}

describe('pvt-mcp job state across servers', () => {
  let dir;
  let frames;
  const launch = (label) => connect({
    command: serverBinary, args: devServerArgs(dir), env: serverEnv(), label,
  });
  const call = (srv, name, args, options) => srv.client.callTool({ name, arguments: args }, undefined, options);
  // Polls until the job has `segments` finished segments; it must still be running then.
  const runUntil = async (srv, jobId, segments) => {
    const deadline = Date.now() + 240_000;
    for (;;) {
      const st = structured(await call(srv, 'get_transcode_status', { job_id: jobId }), 'get_transcode_status');
      if (TERMINAL.has(st.state)) assert.fail(`the job ended before it could be stopped: ${JSON.stringify(st)}`);
      if (st.segments_done >= segments) return st;
      if (Date.now() > deadline) assert.fail(`no ${segments} segments in time: ${JSON.stringify(st)}`);
      await sleep(100);
    }
  };
  const interruptedJobs = async (srv) => {
    const { jobs } = structured(await call(srv, 'list_transcodes', {}), 'list_transcodes');
    return jobs.filter((j) => j.state === 'interrupted');
  };

  before(async () => {
    dir = await makeTempDir('pvt-mcp-resume-');
    frames = await inputFrames();
  });
  after(async () => { await fsp.rm(dir, { recursive: true, force: true }); });

  it('SIGTERM keeps the job; the next server lists it as interrupted (and as a task) and resume_job_id finishes it', async () => {
    const srv1 = await launch('resume-sigterm-1');
    // Started as an MCP task: a task is its job, so the job tools follow it under the task's id.
    const stream = srv1.client.experimental.tasks.callToolStream({
      name: 'transcode_video', arguments: { input: sampleClip, output: 'term.mp4', format: 'mp4', preset: PRESET },
    }, undefined, { ...LONG, task: {} });
    const created = await stream.next();
    assert.equal(created.value?.type, 'taskCreated', JSON.stringify(created.value));
    await stream.return();
    const started = { job_id: created.value.task.taskId };
    const before = await runUntil(srv1, started.job_id, 2);
    const pid = srv1.transport.pid;
    process.kill(pid, 'SIGTERM');
    await waitGone(pid);
    await srv1.close();

    const jobDir = path.join(dir, '.term.mp4.pvt-job');
    assert.ok(!fs.existsSync(path.join(dir, 'term.mp4')), 'no output from a stopped job');
    const state = readState(jobDir);
    assert.equal(state.status, 'interrupted', 'the engine recorded the interrupt');
    assert.ok(state.finished.length >= 2, `finished segments kept: ${state.finished.length}`);
    for (let i = 0; i < 20 && processesMentioning(jobDir).length; i++) await sleep(250);
    assert.deepEqual(processesMentioning(jobDir), [], 'no worker outlives the server');

    const srv2 = await launch('resume-sigterm-2');
    try {
      const listed = await interruptedJobs(srv2);
      assert.equal(listed.length, 1, `one interrupted job: ${JSON.stringify(listed)}`);
      const job = listed[0];
      assert.match(job.job_id, /^resume-/);
      assert.equal(job.resume_job_id, job.job_id);
      assert.equal(job.output, path.join(dir, 'term.mp4'));
      assert.equal(job.input, fs.realpathSync(sampleClip));
      assert.equal(job.format, 'mp4');
      assert.ok(job.segments_done >= 2, `segments_done ${job.segments_done}`);
      assert.equal(job.segments_total, before.segments_total);
      assert.match(job.error, /stopped/);

      const status = await call(srv2, 'get_transcode_status', { job_id: job.job_id });
      assert.equal(structured(status, 'get_transcode_status').state, 'interrupted');
      assert.match(resultText(status), /resume_job_id/);

      // tasks/list after the restart shows it: a failed task (a terminal state never changes) that says
      // how to resume it.
      const { tasks } = await srv2.client.experimental.tasks.listTasks();
      const task = tasks.find((t) => t.taskId === job.job_id);
      assert.ok(task, `the interrupted job is a task: ${JSON.stringify(tasks)}`);
      assert.equal(task.status, 'failed');
      assert.match(task.statusMessage, /resume_job_id/);

      // Resumed as a task too: a new task, followed to its result.
      let result;
      for await (const message of srv2.client.experimental.tasks.callToolStream(
        { name: 'transcode_video', arguments: { resume_job_id: job.job_id } }, undefined, { ...LONG, task: {} })) {
        if (message.type === 'error') assert.fail(String(message.error));
        if (message.type === 'result') result = message.result;
      }
      const st = structured(result, 'transcode_video resume_job_id');
      assert.equal(st.state, 'succeeded', `resumed job: ${resultText(result)}`);
      const s = st.summary;
      assert.equal(s.resumed, true);
      assert.ok(s.segments_reused >= job.segments_done, `segments_reused ${s.segments_reused}`);
      assert.equal(s.segments_reused + s.segments_encoded, s.segments.length);
      assert.equal(s.segments.filter((g) => g.reused).length, s.segments_reused);
      assert.equal(await videoFrames(path.join(dir, 'term.mp4')), frames, 'every frame of the input');
      assert.ok(!fs.existsSync(jobDir), 'the job folder goes once the job succeeded');
      assert.deepEqual(await interruptedJobs(srv2), []);
      // The on-disk id now answers with the job that finished it.
      const after = structured(await call(srv2, 'get_transcode_status', { job_id: job.job_id }), 'status');
      assert.equal(after.state, 'succeeded');
    } finally {
      await srv2.close();
    }
  });

  it('end of input keeps the job too, and the same arguments resume it', async () => {
    const args = { input: sampleClip, output: 'eof', format: 'hls', preset: PRESET };
    const s = new RawServer(serverBinary, devServerArgs(dir), serverEnv());
    try {
      await s.initialize();
      const started = await s.request(1, 'tools/call', { name: 'transcode_video', arguments: args });
      const jobId = started.result.structuredContent.job_id;
      for (let i = 2; ; i++) {
        const r = await s.request(i, 'tools/call', { name: 'get_transcode_status', arguments: { job_id: jobId } });
        const st = r.result.structuredContent;
        assert.ok(!TERMINAL.has(st.state), `the job ended before stdin closed: ${JSON.stringify(st)}`);
        if (st.segments_done >= 1) break;
        await sleep(100);
      }
    } finally {
      // Not RawServer.close(): its SIGKILL after 5 s would be another way to stop the server.
      s.proc.stdin.end();
      const t = setTimeout(() => s.proc.kill('SIGKILL'), 60_000);
      const { code } = await s.exit;
      clearTimeout(t);
      assert.equal(code, 0, `exits 0 at end of input; stderr: ${s.stderr}`);
    }
    assert.match(s.stderr, /interrupted; its state is kept/);
    assert.ok(fs.existsSync(path.join(dir, '.eof.pvt-job', 'job.json')), 'state kept');
    assert.ok(!fs.existsSync(path.join(dir, 'eof', 'index.m3u8')), 'no playlist from a stopped job');

    const srv = await launch('resume-eof-2');
    try {
      const [job] = await interruptedJobs(srv);
      assert.ok(job && job.output === path.join(dir, 'eof', 'index.m3u8'), 'listed as interrupted');
      // Other settings are refused at once, naming the difference and both ways on.
      const refused = await call(srv, 'transcode_video', { ...args, preset: 'ultrafast' });
      assert.equal(refused.isError, true, resultText(refused));
      assert.match(resultText(refused), /preset medium -> ultrafast/);
      assert.match(resultText(refused), /restart: true/);
      assert.ok(resultText(refused).includes(job.job_id), 'names the job to resume');

      const st = structured(await call(srv, 'transcode_video', { ...args, wait: true }, LONG), 'transcode_video');
      assert.equal(st.state, 'succeeded', JSON.stringify(st.error));
      assert.equal(st.summary.resumed, true);
      assert.ok(st.summary.segments_reused >= 1, `segments_reused ${st.summary.segments_reused}`);
      assert.equal(await videoFrames(path.join(dir, 'eof', 'index.m3u8')), frames);
      assert.ok(!fs.existsSync(path.join(dir, '.eof.pvt-job')));
    } finally {
      await srv.close();
    }
  });

  it('a SIGKILLed server leaves a job that is listed as interrupted and that cancel_transcode discards', async () => {
    const srv1 = await launch('resume-sigkill-1');
    const started = structured(await call(srv1, 'transcode_video', {
      input: sampleClip, output: 'killed.mp4', format: 'mp4', preset: PRESET,
    }), 'transcode_video');
    await runUntil(srv1, started.job_id, 1);
    const pid = srv1.transport.pid;
    process.kill(pid, 'SIGKILL');
    await waitGone(pid);
    await srv1.close();
    const jobDir = path.join(dir, '.killed.mp4.pvt-job');
    for (let i = 0; i < 20 && processesMentioning(jobDir).length; i++) await sleep(250);
    assert.deepEqual(processesMentioning(jobDir), [], 'workers die with the server');
    assert.equal(readState(jobDir).status, 'running', 'nobody could record the kill');

    const srv2 = await launch('resume-sigkill-2');
    try {
      const [job] = await interruptedJobs(srv2);
      assert.ok(job, 'listed as interrupted');
      assert.match(job.error, /killed or crashed/);
      const cancelled = structured(await call(srv2, 'cancel_transcode', { job_id: job.job_id }), 'cancel_transcode');
      assert.equal(cancelled.state, 'cancelled');
      assert.ok(!fs.existsSync(jobDir), 'its folder is gone');
      assert.deepEqual(await interruptedJobs(srv2), []);
      const gone = await call(srv2, 'transcode_video', { resume_job_id: job.job_id });
      assert.equal(gone.isError, true, 'nothing left to resume');
    } finally {
      await srv2.close();
    }
  });

  it('cancel_transcode discards the job: no job folder, no output, nothing for the next server', async () => {
    const treeBefore = listTree(dir);
    const srv1 = await launch('resume-cancel-1');
    try {
      const started = structured(await call(srv1, 'transcode_video', {
        input: sampleClip, output: 'cancelled.mp4', format: 'mp4', preset: PRESET,
      }), 'transcode_video');
      await runUntil(srv1, started.job_id, 1); // finished segments exist: only the cancel flag discards them
      const st = structured(await call(srv1, 'cancel_transcode', { job_id: started.job_id }, LONG), 'cancel');
      assert.equal(st.state, 'cancelled');
      assert.equal(st.resume_job_id, null);
      assert.deepEqual(listTree(dir), treeBefore, 'no job folder and no output');
    } finally {
      await srv1.close();
    }
    const srv2 = await launch('resume-cancel-2');
    try {
      const { jobs } = structured(await call(srv2, 'list_transcodes', {}), 'list_transcodes');
      assert.deepEqual(jobs, []);
    } finally {
      await srv2.close();
    }
  });
});
