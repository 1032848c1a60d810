// The end-to-end session suite: one pvt-mcp server, driven by the official SDK client, through every tool
// and the errors a model can make. Run against the freshly built server (server.test.mjs) and again against
// the server unpacked from the MCPB bundle (bundle.test.mjs): defineSessionSuite(label, launch) where
// launch(outputDir) -> { command, args, env }. The bundle runs the same server binary, so against it
// ({ full: false }) the suite keeps what the bundle can break (start-up, its libraries doing a real transcode,
// schemas, errors) and leaves the job logic (tasks, cancel, resources, pictures, overwrite) to the built
// server's run, which keeps CI within its time.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020Module from 'ajv/dist/2020.js';
import AjvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import { TaskStatusNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import {
  connect, execFile, ffprobe, listTree, makeTempDir, manifestPath, resultText, sampleClip, sleep,
} from './helpers.mjs';

const Ajv2020 = Ajv2020Module.default ?? Ajv2020Module;
const Ajv = AjvModule.default ?? AjvModule;
const addFormats = addFormatsModule.default ?? addFormatsModule;

const TOOLS = ['analyze_video', 'transcode_video', 'get_transcode_status', 'cancel_transcode', 'list_transcodes',
  'get_capabilities'];
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
const STATES = new Set(['queued', 'running', ...TERMINAL]);
// A preset slow enough that a 60 s clip gives a few progress notifications (they come about once a second),
// and one slow enough that a job is surely still running when it is cancelled.
const PROGRESS_PRESET = process.env.PVT_MCP_PROGRESS_PRESET ?? 'veryfast';
const FAST_PRESET = 'ultrafast';
const SLOW_PRESET = 'veryslow';
const LONG = { timeout: 170_000, resetTimeoutOnProgress: true };

function compileSchema(schema) {
  const draft07 = typeof schema.$schema === 'string' && schema.$schema.includes('draft-07');
  const ajv = draft07 ? new Ajv({ strict: true, allowUnionTypes: true })
    : new Ajv2020({ strict: true, allowUnionTypes: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

function isInside(dir, file) {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

// The processes whose parent is pid (the server's workers).
function childrenOf(pid) {
  const kids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) kids.push(Number(entry));
    } catch { /* gone */ }
  }
  return kids;
}

export function defineSessionSuite(label, launch, { full = true } = {}) {
  describe(`pvt-mcp session (${label})`, () => {
    const jobLogic = full ? it : () => {}; // a test of the server's job logic: once, against the built server
    let outputDir;
    let outsideDir;
    let srv;
    let client;
    let frames; // video frames of the sample, from analyze_video
    let finishedJobId;
    const protocolErrors = [];
    const taskNotes = []; // notifications/tasks/status params, in arrival order
    const taskRequests = new Set(); // request ids answered with a task: their progress outlives the response

    const call = (name, args, options) => client.callTool({ name, arguments: args }, undefined, options);
    const ok = (result, what) => {
      assert.notEqual(result.isError, true, `${what} failed: ${resultText(result)}`);
      assert.ok(result.structuredContent && typeof result.structuredContent === 'object',
        `${what}: no structuredContent`);
      assert.ok(resultText(result).length > 0, `${what}: no text summary`);
      return result.structuredContent;
    };
    const toolError = async (name, args, mention) => {
      const result = await call(name, args);
      const text = resultText(result);
      assert.equal(result.isError, true, `${name}(${JSON.stringify(args)}) should be a tool error, got: ${text}`);
      assert.ok(text.length > 0, `${name}: the error has no text`);
      if (mention) assert.match(text, mention, `${name}: the error should name ${mention}`);
      await client.ping(); // the server still answers
      return text;
    };
    const pollUntil = async (jobId, done, deadlineMs, { waitSeconds = 0, intervalMs = 250, onStatus } = {}) => {
      const deadline = Date.now() + deadlineMs;
      for (;;) {
        const st = ok(await call('get_transcode_status', { job_id: jobId, wait_seconds: waitSeconds }, LONG),
          'get_transcode_status');
        onStatus?.(st);
        if (done(st)) return st;
        if (Date.now() > deadline) {
          assert.fail(`job ${jobId} did not get there in ${deadlineMs} ms; last status ${JSON.stringify(st)}`);
        }
        if (intervalMs) await sleep(intervalMs);
      }
    };
    const checkMedia = async (file, { hls }) => {
      const probe = await ffprobe(file);
      const video = probe.streams.filter((s) => s.codec_type === 'video');
      const audio = probe.streams.filter((s) => s.codec_type === 'audio');
      assert.equal(video.length, 1, `${file}: one video stream`);
      assert.equal(video[0].codec_name, 'h264');
      assert.equal(video[0].width, 640);
      assert.equal(video[0].height, 360);
      assert.equal(Number(video[0].nb_read_packets), frames, `${file}: every frame of the input`);
      assert.equal(audio.length, 1, `${file}: the audio is kept`);
      assert.equal(audio[0].codec_name, 'aac');
      assert.ok(Math.abs(Number(probe.format.duration) - 60.18) < 0.6, `${file}: duration ${probe.format.duration}`);
      assert.match(probe.format.format_name, hls ? /hls|mpegts/ : /mp4|mov/);
    };
    const checkFinished = (st, jobId) => {
      assert.equal(st.job_id, jobId);
      assert.equal(st.state, 'succeeded', `job failed: ${st.error}`);
      assert.equal(st.error, null);
      assert.ok(st.summary && typeof st.summary === 'object', 'summary of a finished job');
      assert.equal(st.frames_done, st.frames_total);
      assert.equal(st.frames_total, frames);
      assert.ok(st.percent >= 99.9 && st.percent <= 100, `percent ${st.percent}`);
      assert.equal(st.segments_done, st.segments_total);
      assert.ok(Array.isArray(st.files) && st.files.length > 0, 'files listed');
      for (const f of st.files) {
        assert.ok(path.isAbsolute(f), `absolute path: ${f}`);
        assert.ok(isInside(outputDir, f), `${f} is inside the output dir`);
        assert.ok(fs.statSync(f).isFile(), `${f} exists`);
      }
    };
    const resourceLinks = (result) => (result.content ?? []).filter((c) => c.type === 'resource_link');

    before(async () => {
      outputDir = await makeTempDir('pvt-mcp-out-');
      outsideDir = await makeTempDir('pvt-mcp-outside-');
      await fsp.copyFile(sampleClip, path.join(outputDir, 'bbb.mp4'));
      srv = await connect({ ...launch(outputDir), label });
      client = srv.client;
      client.onerror = (e) => protocolErrors.push(String(e?.message ?? e));
      client.setNotificationHandler(TaskStatusNotificationSchema, (n) => { taskNotes.push(n.params); });
    });

    after(async () => {
      await srv?.close();
      if (outputDir) await fsp.rm(outputDir, { recursive: true, force: true });
      if (outsideDir) await fsp.rm(outsideDir, { recursive: true, force: true });
    });

    it('initializes as pvt 0.1.0 with tools and logging, and lists the six tools with compiling schemas', async () => {
      assert.deepEqual(client.getServerVersion(), { name: 'pvt', version: '0.1.0' });
      const caps = client.getServerCapabilities();
      assert.ok(caps.tools, 'tools capability');
      assert.ok(caps.logging, 'logging capability');
      assert.ok((client.getInstructions() ?? '').length > 0, 'instructions');

      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOLS].sort());
      const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
      for (const t of tools) {
        assert.ok(t.description && t.description.length > 10, `${t.name}: description`);
        assert.equal(t.inputSchema.type, 'object', `${t.name}: inputSchema is an object schema`);
        assert.ok(t.outputSchema, `${t.name}: outputSchema`);
        assert.equal(t.outputSchema.type, 'object', `${t.name}: outputSchema is an object schema`);
        for (const [kind, schema] of [['inputSchema', t.inputSchema], ['outputSchema', t.outputSchema]]) {
          assert.doesNotThrow(() => compileSchema(schema), `${t.name}.${kind} compiles with ajv (strict)`);
        }
        assert.ok(t.annotations, `${t.name}: annotations`);
      }
      const hints = (n) => byName[n].annotations;
      assert.equal(hints('analyze_video').readOnlyHint, true);
      assert.equal(hints('analyze_video').idempotentHint, true);
      assert.equal(hints('analyze_video').destructiveHint, false);
      assert.equal(hints('transcode_video').readOnlyHint, false);
      assert.equal(hints('transcode_video').destructiveHint, true);
      assert.equal(hints('transcode_video').idempotentHint, false);
      assert.equal(hints('get_transcode_status').readOnlyHint, true);
      assert.equal(hints('cancel_transcode').destructiveHint, true);
      assert.equal(hints('cancel_transcode').idempotentHint, true);
      assert.equal(hints('list_transcodes').readOnlyHint, true);
      assert.equal(hints('get_capabilities').readOnlyHint, true);

      const tin = byName.transcode_video.inputSchema;
      // input is required unless resume_job_id is given: the server checks that, the schema cannot say it
      // without a top-level combinator.
      assert.equal(tin.required, undefined);
      assert.match(tin.properties.input.description, /resume_job_id/);
      assert.equal(tin.properties.resume_job_id.type, 'string');
      assert.equal(tin.properties.restart.type, 'boolean');
      assert.deepEqual([...tin.properties.format.enum].sort(), ['dash', 'hls', 'hls+dash', 'mkv', 'mp4', 'webm']);
      // Parity with pvt transcode: the encoding choices are there, with enums a model can act on.
      assert.deepEqual([...tin.properties.codec.enum].sort(), ['av1', 'h264', 'hevc', 'vp9']);
      assert.ok(tin.properties.encoder.enum.includes('auto') && tin.properties.encoder.enum.includes('x264'));
      for (const p of ['hw_sessions', 'analysis_backend', 'audio', 'audio_tracks', 'subtitles', 'streams', 'bit_depth',
        'tonemap', 'executor', 'min_segment', 'max_segment', 'crf_range', 'task_per_playlist_segment']) {
        assert.ok(tin.properties[p], `transcode_video takes ${p}`);
      }
      // MCP tasks (2025-11-25): the long tools may run as tasks, the others not.
      assert.ok(caps.tasks?.requests?.tools?.call, 'tasks capability for tools/call');
      assert.ok(caps.tasks.list && caps.tasks.cancel, 'tasks/list and tasks/cancel');
      assert.ok(caps.resources, 'resources capability');
      assert.equal(byName.transcode_video.execution?.taskSupport, 'optional');
      assert.equal(byName.analyze_video.execution?.taskSupport, 'optional');
      assert.equal(byName.get_transcode_status.execution?.taskSupport, 'forbidden');
      for (const p of ['ultrafast', 'medium', 'veryslow']) assert.ok(tin.properties.preset.enum.includes(p), p);
      assert.equal(tin.properties.crf.minimum, 0);
      assert.equal(tin.properties.crf.maximum, 51);
      assert.deepEqual(byName.analyze_video.inputSchema.required, ['path']);
      assert.deepEqual(byName.get_transcode_status.inputSchema.required, ['job_id']);
      assert.deepEqual(byName.cancel_transcode.inputSchema.required, ['job_id']);

      // The bundle's manifest lists the same tools.
      const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
      assert.deepEqual(manifest.tools.map((t) => t.name).sort(), [...TOOLS].sort());
    });

    it('get_capabilities reports cores, memory, x264 and the defaults', async () => {
      const caps = ok(await call('get_capabilities', {}), 'get_capabilities');
      assert.ok(Number.isInteger(caps.cores) && caps.cores >= 1, `cores ${caps.cores}`);
      assert.ok(caps.memory_bytes > 0, 'memory_bytes');
      assert.ok(Array.isArray(caps.encoders));
      const x264 = caps.encoders.find((e) => e.name === 'x264');
      assert.ok(x264 && x264.available === true, `x264 available: ${JSON.stringify(caps.encoders)}`);
      assert.ok(Array.isArray(caps.hardware));
      assert.ok(caps.defaults && typeof caps.defaults === 'object');
    });

    it('analyze_video reports the sample (relative and absolute paths)', async () => {
      const rel = ok(await call('analyze_video', { path: 'bbb.mp4' }, LONG), 'analyze_video');
      const v = rel.media?.video;
      assert.ok(v, `media.video in ${Object.keys(rel)}`);
      assert.equal(v.width, 640);
      assert.equal(v.height, 360);
      assert.equal(v.codec, 'h264');
      assert.ok(v.frames > 1400 && v.frames < 1500, `frames ${v.frames}`);
      assert.ok(Math.abs(rel.media.duration - 60.18) < 0.6, `duration ${rel.media.duration}`);
      assert.ok(Array.isArray(rel.scene_cuts));
      assert.ok(Array.isArray(rel.plan?.segments) && rel.plan.segments.length > 0, 'a segment plan');
      assert.equal(rel.frames, undefined, 'no per-frame data');
      frames = v.frames;

      const abs = ok(await call('analyze_video', { path: sampleClip, scene_threshold: 0.5, min_scene_frames: 24 }, LONG),
        'analyze_video (absolute)');
      assert.equal(abs.media.video.frames, frames);
      assert.equal(abs.analysis.scene_threshold, 0.5);
      assert.equal(abs.analysis.min_scene_frames, 24);
    });

    it('transcode_video wait:true sends growing progress and produces HLS that ffprobe accepts', async () => {
      assert.ok(frames, 'needs the analysis');
      const progress = [];
      const result = await call('transcode_video', {
        input: 'bbb.mp4', output: 'waited', format: 'hls', preset: PROGRESS_PRESET, crf: 28, wait: true,
      }, { ...LONG, onprogress: (p) => progress.push(p) });
      const st = ok(result, 'transcode_video wait:true');
      checkFinished(st, st.job_id);
      finishedJobId = st.job_id;

      assert.ok(progress.length >= 2, `progress notifications: ${JSON.stringify(progress)}`);
      for (let i = 1; i < progress.length; i++) {
        assert.ok(progress[i].progress > progress[i - 1].progress,
          `progress only grows: ${JSON.stringify(progress.map((p) => p.progress))}`);
      }
      for (const p of progress) {
        if (p.total !== undefined) assert.ok(p.progress <= p.total, `progress ${p.progress} <= total ${p.total}`);
      }

      const playlist = st.files.find((f) => f.endsWith('.m3u8'));
      assert.ok(playlist, `a playlist among ${st.files}`);
      assert.equal(path.dirname(playlist), path.join(outputDir, 'waited'));
      assert.ok(st.files.some((f) => f.endsWith('.ts')), 'media segments');
      await checkMedia(playlist, { hls: true });
    });

    jobLogic('transcode_video with a ladder and format hls+dash writes the master playlist and the MPD over the same segments', async () => {
      const st = ok(await call('transcode_video', {
        input: 'bbb.mp4', output: 'set', format: 'hls+dash', ladder: '240,144', preset: FAST_PRESET, wait: true,
      }, LONG), 'transcode_video hls+dash');
      checkFinished(st, st.job_id);
      assert.equal(st.format, 'hls+dash');
      assert.equal(path.basename(st.output), 'master.m3u8');
      const names = st.files.map((f) => path.basename(f));
      assert.ok(names.includes('manifest.mpd'), `an MPD among ${names}`);
      assert.ok(names.includes('index_audio0.m3u8'), `the audio rendition among ${names}`);
      for (const f of st.files) assert.equal(path.dirname(f), path.join(outputDir, 'set'));
      const mpd = await fs.promises.readFile(path.join(outputDir, 'set', 'manifest.mpd'), 'utf8');
      assert.equal((mpd.match(/<Representation /g) ?? []).length, 3, mpd);
      const rung = await ffprobe(path.join(outputDir, 'set', 'index_240p.m3u8'));
      const video = rung.streams.filter((x) => x.codec_type === 'video');
      assert.equal(video.length, 1);
      assert.equal(video[0].height, 240);
      assert.equal(Number(video[0].nb_read_packets), frames, 'every frame of the input in the 240p rung');
    });

    jobLogic('transcode_video without wait answers at once; get_transcode_status polls it to succeeded (MP4)', async () => {
      const t0 = Date.now();
      const started = ok(await call('transcode_video', {
        input: sampleClip, output: 'polled.mp4', format: 'mp4', preset: FAST_PRESET,
      }), 'transcode_video');
      const elapsed = Date.now() - t0;
      assert.ok(elapsed < 1500, `answered in ${elapsed} ms`);
      assert.equal(typeof started.job_id, 'string');
      assert.ok(['queued', 'running'].includes(started.state), `state ${started.state}`);
      assert.equal(started.format, 'mp4');
      assert.ok(String(started.output).endsWith('polled.mp4'), `output ${started.output}`);

      const percents = [];
      const st = await pollUntil(started.job_id, (s) => TERMINAL.has(s.state), 150_000, {
        waitSeconds: 5, intervalMs: 0,
        onStatus: (s) => {
          assert.ok(STATES.has(s.state), `state ${s.state}`);
          percents.push(s.percent);
        },
      });
      checkFinished(st, started.job_id);
      for (let i = 1; i < percents.length; i++) assert.ok(percents[i] >= percents[i - 1], `percent ${percents}`);
      const mp4 = path.join(outputDir, 'polled.mp4');
      assert.deepEqual(st.files, [mp4]);
      await checkMedia(mp4, { hls: false });

      const final = await call('get_transcode_status', { job_id: started.job_id });
      const links = resourceLinks(final);
      const files = links.filter((l) => l.uri.startsWith('file:'));
      assert.equal(files.length, 1, `one file resource_link: ${JSON.stringify(final.content)}`);
      assert.equal(files[0].mimeType, 'video/mp4');
      assert.ok(files[0].name);
      assert.equal(fileURLToPath(files[0].uri), mp4);
      // ...and one to each report, which resources/read serves.
      assert.deepEqual(links.filter((l) => l.uri.startsWith('pvt:')).map((l) => l.uri),
        ['summary', 'timeline', 'timeline.png'].map((w) => `pvt://jobs/${started.job_id}/${w}`));

      const hls = await call('get_transcode_status', { job_id: finishedJobId });
      const hlsLinks = resourceLinks(hls);
      assert.ok(hlsLinks.some((l) => l.mimeType === 'application/vnd.apple.mpegurl'), 'playlist link');
      assert.ok(hlsLinks.some((l) => l.mimeType === 'video/mp2t'), 'segment links');
      for (const l of hlsLinks.filter((h) => h.uri.startsWith('file:'))) assert.ok(fs.existsSync(fileURLToPath(l.uri)), l.uri);

      const { jobs } = ok(await call('list_transcodes', {}), 'list_transcodes');
      for (const id of [finishedJobId, started.job_id]) {
        const job = jobs.find((j) => j.job_id === id);
        assert.ok(job, `job ${id} listed`);
        assert.equal(job.state, 'succeeded');
        assert.ok(job.summary === undefined || job.summary === null, 'list_transcodes has no summaries');
      }
    });

    jobLogic('transcode_video as a task: created at once, status notifications, progress, then the result', async () => {
      const progress = [];
      const seen = [];
      const stream = client.experimental.tasks.callToolStream(
        { name: 'transcode_video', arguments: { input: 'bbb.mp4', output: 'task.mp4', format: 'mp4', preset: PROGRESS_PRESET } },
        undefined, { ...LONG, task: {}, onprogress: (p) => progress.push(p.progress) });
      let result;
      for await (const message of stream) {
        seen.push(message.type);
        if (message.type === 'taskCreated') {
          assert.match(message.task.taskId, /^job-\d+$/, 'the task is the job');
          assert.equal(message.task.status, 'working');
          taskRequests.add(srv.wire.filter((m) => 'response' in m).at(-1)?.response);
        }
        if (message.type === 'error') assert.fail(`task error: ${message.error}`);
        if (message.type === 'result') result = message.result;
      }
      assert.equal(seen[0], 'taskCreated');
      assert.ok(seen.includes('taskStatus'), `statuses were polled: ${seen}`);
      const st = ok(result, 'task result');
      assert.equal(st.state, 'succeeded');
      assert.equal(result._meta?.['io.modelcontextprotocol/related-task']?.taskId, st.job_id);
      await checkMedia(path.join(outputDir, 'task.mp4'), { hls: false });
      assert.ok(progress.length >= 1, 'progress for the task');
      for (let i = 1; i < progress.length; i++) assert.ok(progress[i] > progress[i - 1], 'progress grows');
      for (let i = 0; i < 20 && !taskNotes.some((n) => n.taskId === st.job_id && n.status === 'completed'); i++) {
        await sleep(100);
      }
      assert.ok(taskNotes.some((n) => n.taskId === st.job_id && n.status === 'completed'), 'a completed status notification');
      const task = await client.experimental.tasks.getTask(st.job_id);
      assert.equal(task.status, 'completed');
      const { tasks } = await client.experimental.tasks.listTasks();
      assert.ok(tasks.some((t) => t.taskId === st.job_id && t.status === 'completed'), 'tasks/list has it');
      // The job tools know it under the same id.
      assert.equal(ok(await call('get_transcode_status', { job_id: st.job_id }), 'status').state, 'succeeded');
    });

    jobLogic('tasks/cancel stops a task\'s job: cancelled, no output, no workers; cancelling again is an error', async () => {
      const treeBefore = listTree(outputDir);
      const stream = client.experimental.tasks.callToolStream(
        { name: 'transcode_video', arguments: { input: 'bbb.mp4', output: 'task-cancelled.mp4', format: 'mp4', preset: SLOW_PRESET } },
        undefined, { ...LONG, task: {} });
      const first = await stream.next();
      assert.equal(first.value.type, 'taskCreated');
      const { taskId } = first.value.task;
      await stream.return(); // stop polling: the test follows the task itself
      await pollUntil(taskId, (s) => s.state === 'running', 30_000);
      await sleep(1500);
      const cancelled = await client.experimental.tasks.cancelTask(taskId);
      assert.equal(cancelled.status, 'cancelled');
      assert.equal((await client.experimental.tasks.getTask(taskId)).status, 'cancelled');
      assert.equal(ok(await call('get_transcode_status', { job_id: taskId }), 'status').state, 'cancelled');
      assert.deepEqual(listTree(outputDir), treeBefore, 'nothing left behind');
      let kids = childrenOf(srv.transport.pid);
      for (let i = 0; i < 20 && kids.length; i++) { await sleep(250); kids = childrenOf(srv.transport.pid); }
      assert.deepEqual(kids, [], 'no worker processes left');
      await assert.rejects(client.experimental.tasks.cancelTask(taskId), (e) => e.code === -32602);
      await assert.rejects(client.experimental.tasks.getTask('job-404'), (e) => e.code === -32602);
    });

    jobLogic('finished jobs are resources: summary, timeline SVG and PNG, the output; nothing outside is read', async () => {
      const { resources } = await client.listResources();
      const uris = resources.map((r) => r.uri);
      for (const what of ['summary', 'timeline', 'timeline.png']) {
        assert.ok(uris.includes(`pvt://jobs/${finishedJobId}/${what}`), `${what} of ${finishedJobId} in ${uris}`);
      }
      const { resourceTemplates } = await client.listResourceTemplates();
      assert.ok(resourceTemplates.some((t) => t.uriTemplate === 'pvt://jobs/{job_id}/summary'));
      const summary = await client.readResource({ uri: `pvt://jobs/${finishedJobId}/summary` });
      assert.equal(JSON.parse(summary.contents[0].text).frames, frames);
      const svg = await client.readResource({ uri: `pvt://jobs/${finishedJobId}/timeline` });
      assert.match(svg.contents[0].text, /<svg/);
      const png = await client.readResource({ uri: `pvt://jobs/${finishedJobId}/timeline.png` });
      assert.equal(Buffer.from(png.contents[0].blob, 'base64').subarray(1, 4).toString(), 'PNG');
      const playlist = resources.find((r) => r.mimeType === 'application/vnd.apple.mpegurl');
      if (playlist) assert.match((await client.readResource({ uri: playlist.uri })).contents[0].text, /#EXTM3U/);
      await assert.rejects(client.readResource({ uri: 'file:///etc/passwd' }), (e) => e.code === -32002);
      await assert.rejects(client.readResource({ uri: `file://${outsideDir}/x` }), (e) => e.code === -32002);
      // get_transcode_status shows the same timeline as an image when asked.
      const status = await call('get_transcode_status', { job_id: finishedJobId, timeline_image: true });
      const image = status.content.find((c) => c.type === 'image');
      assert.equal(image?.mimeType, 'image/png');
    });

    jobLogic('analyze_video returns a contact sheet: one JPEG thumbnail per scene, of the size it reports', async () => {
      const result = await call('analyze_video', { path: 'bbb.mp4', contact_sheet: true, contact_sheet_tiles: 8 }, LONG);
      const st = ok(result, 'analyze_video contact_sheet');
      const image = result.content.find((c) => c.type === 'image');
      assert.equal(image?.mimeType, 'image/jpeg');
      const jpeg = Buffer.from(image.data, 'base64');
      assert.ok(jpeg.length < 512 * 1024, `bounded size: ${jpeg.length} bytes`);
      const file = path.join(outsideDir, 'sheet.jpg');
      await fsp.writeFile(file, jpeg);
      const { stdout } = await execFile('ffprobe', ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'json', file]);
      const [stream] = JSON.parse(stdout).streams;
      await fsp.rm(file);
      assert.equal(stream.width, st.contact_sheet.width);
      assert.equal(stream.height, st.contact_sheet.height);
      const tiles = st.contact_sheet.tile_times.length;
      assert.equal(tiles, Math.min(8, st.scenes.length), 'a tile per scene, at most the tiles asked for');
      assert.equal(stream.width, 240 * Math.min(4, tiles), 'four columns of 240 px');
      assert.ok(resultText(result).includes('Contact sheet'));
    });

    jobLogic('an existing output is refused without overwrite and replaced with it', async () => {
      const mp4 = path.join(outputDir, 'polled.mp4');
      const before = fs.statSync(mp4);
      await toolError('transcode_video', { input: 'bbb.mp4', output: 'polled.mp4', format: 'mp4' }, /exist|overwrite/i);
      assert.equal(fs.statSync(mp4).mtimeMs, before.mtimeMs, 'left as it was');

      const st = ok(await call('transcode_video', {
        input: 'bbb.mp4', output: 'polled.mp4', format: 'mp4', preset: FAST_PRESET, crf: 35, overwrite: true,
        wait: true,
      }, LONG), 'transcode_video overwrite:true');
      checkFinished(st, st.job_id);
      assert.notEqual(fs.statSync(mp4).size, before.size, 'replaced (crf 35 is smaller)');
    });

    jobLogic('cancel_transcode stops a running job, leaves no output and no workers; cancelling again is fine', async () => {
      const treeBefore = listTree(outputDir);
      const started = ok(await call('transcode_video', {
        input: 'bbb.mp4', output: 'cancelled.mp4', format: 'mp4', preset: SLOW_PRESET,
      }), 'transcode_video');
      await pollUntil(started.job_id, (s) => s.state === 'running' || TERMINAL.has(s.state), 30_000);
      await sleep(1500); // let the workers start encoding
      const serverPid = srv.transport.pid;
      assert.ok(childrenOf(serverPid).length > 0, 'workers are running before the cancel');

      const cancelled = ok(await call('cancel_transcode', { job_id: started.job_id }, LONG), 'cancel_transcode');
      assert.equal(cancelled.job_id, started.job_id);
      assert.equal(cancelled.state, 'cancelled', `state after cancel: ${JSON.stringify(cancelled)}`);
      assert.ok(!fs.existsSync(path.join(outputDir, 'cancelled.mp4')), 'no output file');
      assert.deepEqual(listTree(outputDir), treeBefore, 'nothing left behind in the output dir');
      let kids = childrenOf(serverPid);
      for (let i = 0; i < 20 && kids.length; i++) { await sleep(250); kids = childrenOf(serverPid); }
      assert.deepEqual(kids, [], 'no worker processes left');

      const again = ok(await call('cancel_transcode', { job_id: started.job_id }), 'cancel_transcode again');
      assert.equal(again.state, 'cancelled');
      const st = ok(await call('get_transcode_status', { job_id: started.job_id }), 'get_transcode_status');
      assert.equal(st.state, 'cancelled');
      assert.equal(st.summary, null);

      const finished = ok(await call('cancel_transcode', { job_id: finishedJobId }), 'cancel a finished job');
      assert.equal(finished.state, 'succeeded', 'cancelling a finished job returns its state');
    });

    jobLogic('notifications/cancelled for a wait:true transcode stops the job and sends no response', async () => {
      const treeBefore = listTree(outputDir);
      const abort = new AbortController();
      const pending = call('transcode_video', {
        input: 'bbb.mp4', output: 'aborted', format: 'hls', preset: SLOW_PRESET, wait: true,
      }, { ...LONG, signal: abort.signal });
      pending.catch(() => {});
      let job;
      const deadline = Date.now() + 30_000;
      while (!job && Date.now() < deadline) {
        await sleep(250);
        const { jobs } = ok(await call('list_transcodes', {}), 'list_transcodes');
        job = jobs.find((j) => String(j.output).includes('aborted') && j.state === 'running');
      }
      assert.ok(job, 'the waited job shows up as running');
      await sleep(1000);
      abort.abort('test cancels');
      await assert.rejects(pending);
      const st = await pollUntil(job.job_id, (s) => TERMINAL.has(s.state), 30_000);
      assert.equal(st.state, 'cancelled');
      assert.deepEqual(listTree(outputDir), treeBefore, 'nothing left behind');
      await sleep(500); // a stray response would show up as a protocol error
      await client.ping();
    });

    it('bad inputs are isError results, and the server keeps answering', async () => {
      await fsp.writeFile(path.join(outputDir, 'notes.txt'), 'this is not a video\n'.repeat(100));
      await fsp.writeFile(path.join(outputDir, 'exists.mp4'), 'placeholder');
      await fsp.symlink(outsideDir, path.join(outputDir, 'escape'));
      const parent = path.dirname(outputDir);
      const climbed = path.join(parent, `climbed-${path.basename(outputDir)}.mp4`);

      // Every case is tried, and all that fail are reported together.
      const cases = [
        ['analyze_video', { path: 'missing.mp4' }],
        ['analyze_video', { path: path.join(outsideDir, 'missing.mp4') }],
        ['transcode_video', { input: 'missing.mp4' }],
        ['analyze_video', { path: 'notes.txt' }],
        ['transcode_video', { input: 'notes.txt', format: 'mp4' }],
        ['transcode_video', { input: 'bbb.mp4', output: `../${path.basename(climbed)}`, format: 'mp4' }],
        ['transcode_video', { input: 'bbb.mp4', output: '../../../../../../tmp/x', format: 'hls' }],
        ['transcode_video', { input: 'bbb.mp4', output: path.join(outsideDir, 'abs.mp4'), format: 'mp4' }],
        ['transcode_video', { input: 'bbb.mp4', output: 'escape/through-link.mp4', format: 'mp4' }],
        ['transcode_video', { input: 'bbb.mp4', output: 'escape', format: 'hls' }],
        ['transcode_video', { input: 'bbb.mp4', output: 'exists.mp4', format: 'mp4' }],
        ['get_transcode_status', { job_id: 'no-such-job' }],
        ['cancel_transcode', { job_id: 'no-such-job' }],
        ['transcode_video', { input: 'bbb.mp4', crf: 'high' }, /crf/],
        ['transcode_video', { input: 'bbb.mp4', crf: 99 }, /crf/],
        ['transcode_video', { input: 'bbb.mp4', format: 'avi' }, /format/],
        ['get_transcode_status', { job_id: 42 }, /job_id/],
        ['transcode_video', { input: 'bbb.mp4', codec: 'vp8' }, /codec/],
        ['transcode_video', { input: 'bbb.mp4', encoder: 'nvenc' }, /nvenc/],
        ['transcode_video', { input: 'bbb.mp4', bit_depth: 12 }, /bit_depth/],
        ['transcode_video', { input: 'bbb.mp4', streams: ['one'] }, /streams/],
        ['transcode_video', { input: 'bbb.mp4', executor: 'k8s' }, /executor/],
        ['transcode_video', { input: 'bbb.mp4', audio_tracks: 'all the English ones' }, /audio_tracks/],
        ['analyze_video', { path: 'bbb.mp4', contact_sheet_tiles: 4 }, /contact_sheet/],
      ];
      const failures = [];
      for (const [name, args, mention] of cases) {
        try {
          await toolError(name, args, mention);
        } catch (e) {
          failures.push(e.message.split('\n')[0]);
        }
      }
      // A call that wrongly started a job must not leave it running for the tests after this one.
      const listed = ok(await call('list_transcodes', {}), 'list_transcodes');
      for (const j of listed.jobs.filter((j) => !TERMINAL.has(j.state))) {
        await call('cancel_transcode', { job_id: j.job_id }, LONG);
      }
      // A missing required argument: a tool error or an invalid-params error, naming the argument.
      try {
        const r = await call('analyze_video', {});
        assert.equal(r.isError, true);
        assert.match(resultText(r), /path/);
      } catch (e) {
        assert.equal(e.code, -32602, String(e));
        assert.match(e.message, /path/);
      }

      assert.ok(!fs.existsSync(climbed), 'nothing written above the output dir');
      assert.deepEqual(fs.readdirSync(outsideDir), [], 'nothing written outside the output dir');
      assert.equal(fs.readFileSync(path.join(outputDir, 'exists.mp4'), 'utf8'), 'placeholder');
      const { jobs } = ok(await call('list_transcodes', {}), 'list_transcodes');
      assert.ok(!jobs.some((j) => TERMINAL.has(j.state) === false), 'no refused call left a job running');
      assert.deepEqual(failures, [], 'every bad input is refused with isError');
    });

    it('an unknown tool is a JSON-RPC invalid-params error', async () => {
      await assert.rejects(call('no_such_tool', {}), (e) => {
        assert.equal(e.code, -32602, String(e));
        assert.match(e.message, /Unknown tool: no_such_tool/);
        return true;
      });
      await client.ping();
    });

    it('logging/setLevel is accepted', async () => {
      await client.setLoggingLevel('debug');
      await client.setLoggingLevel('warning');
      await client.ping();
    });

    it('saw no protocol errors (stdout carried JSON-RPC only, no stray responses, no late progress)', () => {
      // Progress for a request must come before its response (the SDK's progress tokens are request ids).
      const answered = new Map();
      srv.wire.forEach((m, i) => { if ('response' in m && !answered.has(m.response)) answered.set(m.response, i); });
      srv.wire.forEach((m, i) => {
        if ('progress' in m && answered.has(m.progress) && !taskRequests.has(m.progress)) {
          assert.ok(i < answered.get(m.progress), `progress for request ${m.progress} came after its response`);
        }
      });
      // With that checked, the SDK's complaint about such a notification is its own race, not the server's.
      const errors = protocolErrors.filter((e) => !e.startsWith('Received a progress notification for an unknown token'));
      assert.deepEqual(errors, [], `server stderr (${srv.logFile}):\n${srv.stderrTail()}`);
    });
  });
}
