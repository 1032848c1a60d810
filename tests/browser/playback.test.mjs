// pvt's HLS output played in a real browser: headless Chromium (Debian's, /usr/bin/chromium or $CHROMIUM)
// driven by puppeteer-core plays DIR/index.m3u8 through hls.js (MSE) from a static HTTP server of the test's
// own on 127.0.0.1. Cases: each shared clip (../shared/media/MANIFEST.tsv, or $PVT_SHARED_MEDIA; skipped
// when absent), a generated clip with a 90-degree display matrix and a generated one with 2:1 pixels. Each
// is transcoded with `pvt transcode CLIP -o DIR --preset ultrafast --overwrite`, then played to its `ended`
// event, sped up ($PVT_BROWSER_RATE, default 8). Asserted: Hls.isSupported(), no fatal hls.js error, no
// MediaError, `ended` within 120 s, video.duration within 0.25 s of the source's timeline (video and audio
// together: what MSE's duration is once every segment is in) and videoWidth x videoHeight equal to the
// size the source is displayed at (even-cropped as H.264 4:2:0 must be, pixel aspect and rotation applied).
// $PVT_BIN: the pvt binary (default build/cli/pvt). $PVT_BROWSER_KEEP=1 keeps the temp folder.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile as execFileCb } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const execFile = promisify(execFileCb);
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const pvtBin = path.resolve(repoRoot, process.env.PVT_BIN ?? path.join('build', 'cli', 'pvt'));
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
const sharedMedia = path.resolve(repoRoot, process.env.PVT_SHARED_MEDIA ?? path.join('..', 'shared', 'media'));
const hlsJs = path.join(here, 'node_modules', 'hls.js', 'dist', 'hls.min.js');
const dashJs = path.join(here, 'node_modules', 'dashjs', 'dist', 'dash.all.min.js');
const playbackRate = Number(process.env.PVT_BROWSER_RATE ?? 8);
const playTimeoutMs = 120_000; // from loading the page to `ended`, per clip
const durationTolerance = 0.25; // seconds

// The clips ../shared/media/MANIFEST.tsv lists (these six when it cannot be read).
const knownClips = ['big_buck_bunny.mp4', 'bbb_hevc10.mkv', 'cityCC0.mpg', 'car-detection.mp4', 'car_vfr.mp4', 'book.mkv'];
function sharedClips() {
  try {
    const lines = fs.readFileSync(path.join(sharedMedia, 'MANIFEST.tsv'), 'utf8').split('\n').filter(Boolean);
    const col = lines[0].split('\t').indexOf('file');
    return lines.slice(1).map((l) => l.split('\t')[col]).filter(Boolean);
  } catch {
    return knownClips;
  }
}

// ---- what the source looks like to a player, by ffprobe ----

async function ffprobeJson(args) {
  const { stdout } = await execFile('ffprobe', ['-v', 'error', ...args, '-of', 'json'], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout);
}

// The rotation of a stream's display matrix in degrees (0 without one), as ffprobe reports it.
function rotationOf(stream) {
  for (const sd of stream.side_data_list ?? []) {
    if (sd.rotation !== undefined) return Number(sd.rotation);
  }
  return Number(stream.tags?.rotate ?? 0);
}

// The size a player displays a coded width x height at: the pixel aspect ratio stretches one side the way
// Chromium does (media::VideoAspectRatio::GetNaturalSize: wide pixels widen, narrow pixels heighten), and a
// display matrix of +-90 or 270 degrees swaps the two.
function displayedSize(width, height, sar, rotation) {
  let w = width;
  let h = height;
  const m = /^(\d+):(\d+)$/.exec(sar ?? '');
  const par = m && Number(m[1]) > 0 && Number(m[2]) > 0 ? Number(m[1]) / Number(m[2]) : 1;
  if (par > 1) w = Math.round(w * par);
  else if (par < 1) h = Math.round(h / par);
  const quarterTurns = Math.round(rotation / 90);
  return quarterTurns % 2 !== 0 ? { width: h, height: w } : { width: w, height: h };
}

// The timeline a player shows: from the earliest first timestamp to the latest end of the video and audio
// streams (what MSE's duration becomes once every segment is appended). Per stream: the last packet's
// pts + duration less the first pts, from the packets themselves, since Matroska has no stream durations.
async function timeline(file) {
  const info = await ffprobeJson([
    '-show_entries', 'stream=index,codec_type,width,height,sample_aspect_ratio:stream_side_data:stream_tags=rotate:format=duration',
    file,
  ]);
  const streams = info.streams.filter((s) => s.codec_type === 'video' || s.codec_type === 'audio');
  const video = streams.find((s) => s.codec_type === 'video');
  const ends = {};
  for (const s of streams) {
    const { packets } = await ffprobeJson(['-select_streams', String(s.index), '-show_entries', 'packet=pts_time,duration_time', file]);
    let first = Infinity;
    let last = -Infinity;
    for (const p of packets) {
      const pts = Number(p.pts_time);
      if (!Number.isFinite(pts)) continue;
      first = Math.min(first, pts);
      last = Math.max(last, pts + (Number(p.duration_time) || 0));
    }
    ends[s.codec_type] = { first, last };
  }
  const first = Math.min(...Object.values(ends).map((e) => e.first));
  const last = Math.max(...Object.values(ends).map((e) => e.last));
  return {
    duration: last - first,
    video: ends.video ? ends.video.last - ends.video.first : NaN,
    audio: ends.audio ? ends.audio.last - ends.audio.first : NaN,
    format: Number(info.format.duration),
    width: video.width,
    height: video.height,
    sar: video.sample_aspect_ratio,
    rotation: rotationOf(video),
  };
}

// ---- the static server: the temp folder, hls.js, dash.js and the player pages ----

// Both pages: a MediaError ends the wait, and so does a player stuck for 20 s (no progress of
// currentTime): it would not move again. Needs video, state and finish.
const watchScript = `video.addEventListener('error', () => {
  state.mediaError = video.error ? { code: video.error.code, message: video.error.message } : { code: 0 };
  finish('media-error');
});
let lastTime = -1;
let lastMove = Date.now();
setInterval(() => {
  if (video.currentTime !== lastTime) [lastTime, lastMove] = [video.currentTime, Date.now()];
  else if (Date.now() - lastMove > 20000) finish('stalled at ' + video.currentTime.toFixed(3) + ' s');
}, 250);
`;

const playerPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>pvt HLS playback</title><script src="/hls.min.js"></script></head>
<body><video id="v" muted autoplay playsinline></video>
<script>
'use strict';
const video = document.getElementById('v');
const params = new URLSearchParams(location.search);
const state = window.playback = { hlsSupported: Hls.isSupported(), hlsVersion: Hls.version, hlsErrors: [],
  mediaError: null, ended: false, outcome: null, durations: [] };
const finish = (outcome) => { if (!state.outcome) state.outcome = outcome; };
${watchScript}video.addEventListener('durationchange', () => state.durations.push(video.duration));
video.addEventListener('ended', () => { state.ended = true; finish('ended'); });
if (!state.hlsSupported) {
  finish('hls-unsupported');
} else {
  const hls = window.hls = new Hls({ debug: params.get('debug') === '1' });
  hls.on(Hls.Events.ERROR, (event, data) => {
    state.hlsErrors.push({ type: data.type, details: data.details, fatal: data.fatal,
      reason: data.reason ?? (data.error ? String(data.error) : undefined) });
    if (data.fatal) finish('hls-fatal');
  });
  // Subtitles on, as a viewer would turn them on once the menu lists them: hls.js then loads the
  // rendition's playlist and cues. Not from inside the SUBTITLE_TRACKS_UPDATED handler itself: hls.js
  // dispatches that event from the level switch and then makes its own initial choice (the DEFAULT=YES
  // rendition, none here, as the source's track is not default), which would undo a choice made in the
  // handler; and during startLoad() it fires before the subtitle-track controller may load playlists.
  hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, () => {
    setTimeout(() => {
      if (hls.subtitleTracks.length > 0 && hls.subtitleTrack < 0) hls.subtitleTrack = 0;
    }, 0);
  });
  // A ladder (?switch=1): every level is asked for once through hls.currentLevel, as a viewer picking a
  // quality would; each fragment that plays records its level.
  state.levels = [];
  state.levelsPlayed = [];
  state.switches = [];
  hls.on(Hls.Events.FRAG_CHANGED, (event, data) => {
    const level = data.frag.level;
    if (!state.levelsPlayed.includes(level)) state.levelsPlayed.push(level);
    if (params.get('switch') !== '1') return;
    const next = (level + 1) % hls.levels.length;
    if (!state.switches.includes(next) && !state.levelsPlayed.includes(next)) {
      state.switches.push(next);
      setTimeout(() => { hls.currentLevel = next; }, 0);
    }
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    state.levels = hls.levels.map((l) => ({ width: l.width, height: l.height, bitrate: l.bitrate, codecs: l.codecSet }));
    video.playbackRate = Number(params.get('rate') || 1);
    video.play().catch((e) => { state.playError = String(e); });
  });
  video.addEventListener('playing', () => { video.playbackRate = Number(params.get('rate') || 1); });
  hls.attachMedia(video);
  hls.loadSource(params.get('src'));
}
</script></body></html>
`;

// The DASH player: dash.js (MSE) plays ?src= (an MPD) to its end; with ?switch=1 every video quality is
// asked for once through setQualityFor (ABR off for video), as a viewer picking a quality would, and
// each quality rendered is recorded.
const dashPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>pvt DASH playback</title><script src="/dash.all.min.js"></script></head>
<body><video id="v" muted autoplay playsinline></video>
<script>
'use strict';
const video = document.getElementById('v');
const params = new URLSearchParams(location.search);
const state = window.playback = { dashVersion: dashjs.Version, errors: [], mediaError: null, ended: false,
  outcome: null, qualities: [], qualitiesPlayed: [], switches: [], audioTracks: 0, textTracks: 0 };
const finish = (outcome) => { if (!state.outcome) state.outcome = outcome; };
${watchScript}video.addEventListener('ended', () => { state.ended = true; finish('ended'); });
const player = window.player = dashjs.MediaPlayer().create();
const E = dashjs.MediaPlayer.events;
const switching = params.get('switch') === '1';
player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: !switching } } } });
player.on(E.ERROR, (e) => { state.errors.push(JSON.stringify(e.error ?? e)); finish('dash-error'); });
player.on(E.PLAYBACK_ERROR, (e) => { state.errors.push('playback ' + JSON.stringify(e.error ?? e)); finish('dash-error'); });
const played = (q) => { if (!state.qualitiesPlayed.includes(q)) state.qualitiesPlayed.push(q); };
player.on(E.STREAM_INITIALIZED, () => {
  state.qualities = player.getBitrateInfoListFor('video').map((b) => ({ width: b.width, height: b.height, bitrate: b.bitrate }));
  state.audioTracks = player.getTracksFor('audio').length;
  state.textTracks = player.getTracksFor('text').length;
  played(player.getQualityFor('video'));
  video.playbackRate = Number(params.get('rate') || 1);
});
player.on(E.QUALITY_CHANGE_RENDERED, (e) => {
  if (e.mediaType !== 'video') return;
  played(e.newQuality);
  if (!switching) return;
  const next = (e.newQuality + 1) % state.qualities.length;
  if (!state.switches.includes(next) && !state.qualitiesPlayed.includes(next)) {
    state.switches.push(next);
    setTimeout(() => player.setQualityFor('video', next), 0);
  }
});
player.on(E.FRAGMENT_LOADING_COMPLETED, (e) => {
  // The first switch, once playback is under way: the next quality up from where it started.
  if (!switching || state.switches.length > 0 || e.request.mediaType !== 'video' || !state.qualities.length) return;
  const next = (player.getQualityFor('video') + 1) % state.qualities.length;
  state.switches.push(next);
  setTimeout(() => player.setQualityFor('video', next), 0);
});
video.addEventListener('playing', () => { video.playbackRate = Number(params.get('rate') || 1); });
player.initialize(video, params.get('src'), true);
</script></body></html>
`;

const contentTypes = {
  '.mpd': 'application/dash+xml', '.vtt': 'text/vtt',
  '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t', '.m4s': 'video/iso.segment', '.mp4': 'video/mp4',
  '.js': 'text/javascript',
  '.html': 'text/html; charset=utf-8',
};

function startServer(mediaRoot) {
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://127.0.0.1');
      const name = decodeURIComponent(url.pathname);
      let body;
      let type;
      if (name === '/player.html') {
        [body, type] = [playerPage, contentTypes['.html']];
      } else if (name === '/hls.min.js') {
        [body, type] = [await fsp.readFile(hlsJs), contentTypes['.js']];
      } else if (name === '/dash.html') {
        [body, type] = [dashPage, contentTypes['.html']];
      } else if (name === '/dash.all.min.js') {
        [body, type] = [await fsp.readFile(dashJs), contentTypes['.js']];
      } else if (name.startsWith('/media/')) {
        const file = path.resolve(mediaRoot, `.${name.slice('/media'.length)}`);
        if (!file.startsWith(mediaRoot + path.sep)) throw Object.assign(new Error('outside'), { status: 403 });
        [body, type] = [await fsp.readFile(file), contentTypes[path.extname(file)] ?? 'application/octet-stream'];
      } else {
        throw Object.assign(new Error('not found'), { status: 404 });
      }
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      if (process.env.PVT_BROWSER_DEBUG === '1') console.log('http', e.status ?? e.code, req.url);
      res.writeHead(e.status ?? (e.code === 'ENOENT' ? 404 : 500), { 'Content-Type': 'text/plain' });
      res.end(String(e.message));
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

// ---- the cases ----

const cases = [];
const sharedPresent = fs.existsSync(sharedMedia);
for (const clip of sharedClips()) {
  const file = path.join(sharedMedia, clip);
  let skip = false;
  if (!sharedPresent) skip = `no shared clips at ${sharedMedia} (set PVT_SHARED_MEDIA)`;
  else if (!fs.existsSync(file)) skip = `${clip} is listed in MANIFEST.tsv but not in ${sharedMedia}`;
  cases.push({ name: clip, skip, source: async () => file });
}

// 320x180 with a display matrix of 90 degrees: displayed 180x320. ffmpeg 5.1 (Debian 12) drops
// `-metadata:s:v:0 rotate=90` when it encodes, so the tag goes on in a second, copying pass; newer ffmpegs
// ignore the tag and take -display_rotation on the input instead.
async function makeRotatedClip(dir) {
  const plain = path.join(dir, 'rotated-plain.mp4');
  const rotated = path.join(dir, 'rotated.mp4');
  await execFile('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=4',
    '-f', 'lavfi', '-i', 'sine=frequency=440:duration=4', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac',
    '-metadata:s:v:0', 'rotate=90', plain]);
  const rotationOfFile = async (f) => rotationOf((await ffprobeJson(['-select_streams', 'v:0',
    '-show_entries', 'stream_side_data:stream_tags=rotate', f])).streams[0]);
  if (Math.abs(await rotationOfFile(plain)) === 90) return plain;
  await execFile('ffmpeg', ['-v', 'error', '-y', '-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]);
  if (Math.abs(await rotationOfFile(rotated)) !== 90) {
    await execFile('ffmpeg', ['-v', 'error', '-y', '-display_rotation', '90', '-i', plain, '-c', 'copy', rotated]);
  }
  const rotation = await rotationOfFile(rotated);
  assert.equal(Math.abs(rotation), 90, `ffmpeg could not give ${rotated} a 90-degree display matrix`);
  return rotated;
}

// 320x240 with 2:1 pixels: Chromium shows it 640x240 (pvt keeps the pixel aspect in the H.264 VUI, hls.js
// carries it into the fMP4's pasp box; with 1:2 pixels Chromium shows 320x480: it grows the height instead).
async function makeAnamorphicClip(dir) {
  const file = path.join(dir, 'anamorphic.mp4');
  await execFile('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=4,setsar=2/1',
    '-c:v', 'libx264', '-preset', 'ultrafast', file]);
  return file;
}

// 4 s with one SRT track (eng): pvt's HLS output is then a master playlist with a WebVTT rendition.
async function makeSubtitledClip(dir) {
  const srt = path.join(dir, 'subs.srt');
  await fsp.writeFile(srt, '1\n00:00:00,500 --> 00:00:01,500\nHello there\n\n2\n00:00:02,000 --> 00:00:03,000\nSecond line\n');
  const file = path.join(dir, 'subtitled.mkv');
  await execFile('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=4',
    '-f', 'lavfi', '-i', 'sine=duration=4', '-i', srt, '-map', '0', '-map', '1', '-map', '2', '-c:v', 'libx264',
    '-preset', 'ultrafast', '-c:a', 'aac', '-c:s', 'copy', '-metadata:s:s:0', 'language=eng', file]);
  return file;
}

let workDir;
cases.push({ name: 'subtitled.mkv (generated, SRT: a WebVTT rendition)', source: () => makeSubtitledClip(workDir),
  expectSize: { width: 320, height: 180 }, expectCues: 2, firstCueAt: 0.5,
  rate: 1 /* real time: hls.js loads subtitle fragments as playback reaches them */ });
cases.push({ name: 'rotated.mp4 (generated, display matrix 90)', source: () => makeRotatedClip(workDir),
  expectSize: { width: 180, height: 320 } });
cases.push({ name: 'anamorphic.mp4 (generated, 2:1 pixels)', source: () => makeAnamorphicClip(workDir),
  expectSize: { width: 640, height: 240 } });
// AV1 (SVT-AV1) and VP9 (libvpx) in fMP4 segments with an EXT-X-MAP init segment: Chromium decodes both.
async function makeCodecClip(dir) {
  const file = path.join(dir, 'codec-source.mp4');
  if (!fs.existsSync(file)) {
    await execFile('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=6',
      '-f', 'lavfi', '-i', 'sine=duration=6', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', file]);
  }
  return file;
}
for (const codec of ['av1', 'vp9']) {
  cases.push({ name: `${codec} in fMP4 segments (generated)`, source: () => makeCodecClip(workDir),
    expectSize: { width: 320, height: 180 }, pvtArgs: ['--codec', codec, '--segment-duration', '2'], slug: codec });
}

describe('pvt HLS output plays in Chromium through hls.js', () => {
  let server;
  let browser;
  let origin;
  const started = Date.now();

  before(async () => {
    assert.ok(fs.existsSync(pvtBin), `${pvtBin} is missing: build pvt first (or set PVT_BIN)`);
    assert.ok(fs.existsSync(hlsJs), `${hlsJs} is missing: run npm ci in tests/browser`);
    assert.ok(fs.existsSync(dashJs), `${dashJs} is missing: run npm ci in tests/browser`);
    assert.ok(fs.existsSync(chromium), `${chromium} is missing: install Debian's chromium (scripts/install-deps.sh) or set CHROMIUM`);
    workDir = fs.realpathSync(await fsp.mkdtemp(path.join(os.tmpdir(), 'pvt-browser-')));
    server = await startServer(workDir);
    origin = `http://127.0.0.1:${server.address().port}`;
    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      args: ['--headless=new', '--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
    });
  });

  after(async () => {
    if (browser) {
      const proc = browser.process();
      let timer;
      const closed = browser.close().catch(() => {});
      await Promise.race([closed, new Promise((r) => { timer = setTimeout(r, 10_000); })]);
      clearTimeout(timer);
      if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
    if (server) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    if (workDir && !process.env.PVT_BROWSER_KEEP) await fsp.rm(workDir, { recursive: true, force: true });
    else if (workDir) console.log(`kept ${workDir}`);
    console.log(`browser playback: ${cases.length} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  for (const c of cases) {
    it(c.name, { skip: c.skip }, async (t) => {
      const t0 = Date.now();
      const input = await c.source();
      const src = await timeline(input);
      // H.264 4:2:0 has no odd sizes: pvt encodes the even part of each frame (an odd last row or column
      // is cropped), so that is what the player can show; then the pixel aspect and the rotation.
      const expected = displayedSize(src.width & ~1, src.height & ~1, src.sar, src.rotation);
      if (c.expectSize) assert.deepEqual(expected, c.expectSize, `ffprobe's view of ${input}`);
      const slug = c.slug ?? path.basename(input).replace(/[^A-Za-z0-9_.-]+/g, '_');
      const outDir = path.join(workDir, `${slug}.hls`);
      try {
        await execFile(pvtBin, ['transcode', input, '-o', outDir, '--preset', 'ultrafast', '--overwrite',
          ...(c.pvtArgs ?? [])], { timeout: 300_000, maxBuffer: 16 << 20 });
      } catch (e) {
        assert.fail(`pvt transcode failed (${e.code ?? e.signal}): ${e.stderr || e.message}`);
      }
      assert.ok(fs.existsSync(path.join(outDir, 'index.m3u8')), `pvt wrote no ${outDir}/index.m3u8`);

      const page = await browser.newPage();
      const logs = [];
      page.on('console', (m) => logs.push(`console.${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
      let state;
      try {
        const playlist = `/media/${encodeURIComponent(path.basename(outDir))}/index.m3u8`;
        await page.goto(`${origin}/player.html?src=${encodeURIComponent(playlist)}&rate=${c.rate ?? playbackRate}&debug=${process.env.PVT_BROWSER_DEBUG ?? 0}`);
        try {
          await page.waitForFunction('window.playback && window.playback.outcome !== null',
            { timeout: playTimeoutMs, polling: 250 });
        } catch (e) {
          if (e.name !== 'TimeoutError') throw e;
        }
        state = await page.evaluate(() => {
          const v = document.getElementById('v');
          const buffered = [];
          for (let i = 0; i < v.buffered.length; i++) buffered.push([v.buffered.start(i), v.buffered.end(i)]);
          const cues = Array.from(v.textTracks).map((t) => (t.cues ? t.cues.length : 0));
          const firstCue = Array.from(v.textTracks).flatMap((t) => (t.cues ? Array.from(t.cues) : []))
            .map((c) => c.startTime).sort((a, b) => a - b)[0] ?? null;
          return { ...window.playback, subtitleTracks: window.hls ? window.hls.subtitleTracks.length : 0, cues, firstCue,
            duration: v.duration, currentTime: v.currentTime, videoWidth: v.videoWidth,
            videoHeight: v.videoHeight, readyState: v.readyState, networkState: v.networkState, buffered,
            playbackRate: v.playbackRate, quality: v.getVideoPlaybackQuality?.() &&
              { total: v.getVideoPlaybackQuality().totalVideoFrames, dropped: v.getVideoPlaybackQuality().droppedVideoFrames } };
        });
      } finally {
        await page.close();
      }
      const wall = (Date.now() - t0) / 1000;
      const line = `${c.name}: source ${src.duration.toFixed(3)} s (video ${src.video.toFixed(3)}, audio ${src.audio.toFixed(3)}, format ${src.format.toFixed(3)}), `
        + `player ${state.duration.toFixed(3)} s, ${state.videoWidth}x${state.videoHeight} (expected ${expected.width}x${expected.height}), `
        + `${state.outcome ?? `no outcome after ${playTimeoutMs / 1000} s`}, wall ${wall.toFixed(1)} s`
        + (c.expectCues ? `, cues ${JSON.stringify(state.cues)}, first at ${state.firstCue} s, video from ${state.buffered[0]?.[0]} s` : '');
      t.diagnostic(line);
      const context = `\nplayer state: ${JSON.stringify(state)}\n${logs.slice(-(Number(process.env.PVT_BROWSER_LOG_LINES) || 20)).join('\n')}`;

      assert.ok(state.hlsSupported, `Hls.isSupported() is false in ${chromium}: no MSE with H.264/AAC${context}`);
      const fatal = state.hlsErrors.filter((e) => e.fatal);
      assert.deepEqual(fatal, [], `fatal hls.js errors${context}`);
      assert.equal(state.mediaError, null, `MediaError on the video element${context}`);
      assert.ok(state.ended, `playback did not reach \`ended\` within ${playTimeoutMs / 1000} s${context}`);
      assert.ok(Math.abs(state.duration - src.duration) <= durationTolerance,
        `video.duration ${state.duration} is not within ${durationTolerance} s of the source's ${src.duration}${context}`);
      assert.deepEqual({ width: state.videoWidth, height: state.videoHeight }, expected,
        `videoWidth x videoHeight is not the source's displayed size${context}`);
      if (c.expectCues) {
        // The master playlist's rendition reached the player, and its cues were loaded into a text track.
        assert.equal(state.subtitleTracks, 1, `hls.js sees no subtitle rendition${context}`);
        assert.ok(Math.max(0, ...state.cues) >= c.expectCues, `the WebVTT cues did not load${context}`);
        // The first cue is 0.5 s into the source: shown 0.5 s after the first video frame (within a frame).
        const videoStart = state.buffered.length ? state.buffered[0][0] : 0;
        assert.ok(Math.abs(state.firstCue - videoStart - c.firstCueAt) <= 0.05,
          `the first cue shows at ${state.firstCue} s, the video starts at ${videoStart} s${context}`);
      }
    });
  }

  // One transcode for both players: --format hls+dash writes the master playlist and the MPD over the same
  // CMAF segments, the audio once as its own rendition.
  let ladder;
  async function ladderOutput() {
    if (ladder) return ladder;
    const input = path.join(workDir, 'ladder-src.mp4');
    await execFile('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=12',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=12', '-c:v', 'libx264', '-preset', 'ultrafast',
      '-c:a', 'aac', '-shortest', input]);
    const src = await timeline(input);
    const outDir = path.join(workDir, 'ladder.hls');
    try {
      await execFile(pvtBin, ['transcode', input, '-o', outDir, '--ladder', '360,240,144', '--segment-duration', '2',
        '--format', 'hls+dash', '--preset', 'veryfast', '--overwrite'], { timeout: 300_000, maxBuffer: 16 << 20 });
    } catch (e) {
      assert.fail(`pvt transcode failed (${e.code ?? e.signal}): ${e.stderr || e.message}`);
    }
    ladder = { src, outDir };
    return ladder;
  }

  async function play(pageName, manifest) {
    const page = await browser.newPage();
    const logs = [];
    page.on('console', (m) => logs.push(`console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    try {
      await page.goto(`${origin}/${pageName}?src=${encodeURIComponent(manifest)}&rate=2&switch=1`);
      try {
        await page.waitForFunction('window.playback && window.playback.outcome !== null', { timeout: playTimeoutMs, polling: 250 });
      } catch (e) {
        if (e.name !== 'TimeoutError') throw e;
      }
      const state = await page.evaluate(() => ({ ...window.playback, duration: document.getElementById('v').duration }));
      return { state, context: `\nplayer state: ${JSON.stringify(state)}\n${logs.slice(-20).join('\n')}` };
    } finally {
      await page.close();
    }
  }

  it('a 3-rung ladder (--ladder: fMP4, x264 veryfast with B-frames) plays to its end in hls.js and switches to every level on request', async (t) => {
    const { src, outDir } = await ladderOutput();
    const { state, context } = await play('player.html', `/media/${encodeURIComponent(path.basename(outDir))}/master.m3u8`);
    t.diagnostic(`ladder: levels ${JSON.stringify(state.levels)}, played ${JSON.stringify(state.levelsPlayed)}, `
      + `asked ${JSON.stringify(state.switches)}, ${state.outcome}, player ${state.duration} s, source ${src.duration} s`);
    assert.deepEqual(state.hlsErrors.filter((e) => e.fatal), [], `fatal hls.js errors${context}`);
    assert.equal(state.mediaError, null, `MediaError on the video element${context}`);
    assert.ok(state.ended, `playback did not reach \`ended\`${context}`);
    // hls.js orders the levels by bandwidth, lowest first.
    assert.deepEqual(state.levels.map((l) => `${l.width}x${l.height}`), ['256x144', '426x240', '640x360'], `levels${context}`);
    assert.deepEqual([...state.levelsPlayed].sort(), [0, 1, 2], `not every level played${context}`);
    assert.ok(Math.abs(state.duration - src.duration) <= durationTolerance, `duration ${state.duration}${context}`);
  });

  it('the same ladder\'s DASH manifest plays to its end in dash.js, with its audio, and switches to every quality on request', async (t) => {
    const { src, outDir } = await ladderOutput();
    const { state, context } = await play('dash.html', `/media/${encodeURIComponent(path.basename(outDir))}/manifest.mpd`);
    t.diagnostic(`dash.js ${state.dashVersion}: qualities ${JSON.stringify(state.qualities)}, played ${JSON.stringify(state.qualitiesPlayed)}, `
      + `asked ${JSON.stringify(state.switches)}, audio tracks ${state.audioTracks}, ${state.outcome}, player ${state.duration} s, source ${src.duration} s`);
    assert.deepEqual(state.errors, [], `dash.js errors${context}`);
    assert.equal(state.mediaError, null, `MediaError on the video element${context}`);
    assert.ok(state.ended, `playback did not reach \`ended\`${context}`);
    assert.equal(state.audioTracks, 1, `dash.js sees no audio adaptation set${context}`);
    // dash.js orders the qualities by bandwidth, lowest first.
    assert.deepEqual(state.qualities.map((l) => `${l.width}x${l.height}`), ['256x144', '426x240', '640x360'], `qualities${context}`);
    assert.deepEqual([...state.qualitiesPlayed].sort(), [0, 1, 2], `not every quality played${context}`);
    assert.ok(Math.abs(state.duration - src.duration) <= durationTolerance, `duration ${state.duration}${context}`);
  });
});
