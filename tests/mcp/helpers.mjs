// Shared helpers for the pvt-mcp tests: where things are, how to start a server, and small judges.
import { execFile as execFileCb, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export const execFile = promisify(execFileCb);

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const serverBinary = path.resolve(process.env.PVT_MCP_BIN ?? path.join(repoRoot, 'build', 'mcp', 'pvt-mcp'));
export const bundlePath = path.resolve(process.env.PVT_MCP_BUNDLE ?? path.join(repoRoot, 'build', 'pvt.mcpb'));
export const manifestPath = path.join(repoRoot, 'manifest.json');
export const sampleClip = path.resolve(
  process.env.PVT_MCP_SAMPLE ?? path.join(repoRoot, 'samples', 'big_buck_bunny_60s.mp4'));
export const binDir = path.join(here, 'node_modules', '.bin');

// The settings every test server runs with (the same as the user_config values given to the bundle).
// Short segments keep the jobs short on a 2-core machine.
export const testSettings = {
  max_workers: 0,
  segment_duration: 4,
  lookahead_frames: 40,
  encoder: 'auto',
  max_concurrent_jobs: 1,
  executor: 'local',
  slurm_partition: '',
  slurm_account: '',
  slurm_time: '',
  slurm_extra: '',
};

export function devServerArgs(outputDir, settings = testSettings) {
  return [
    '--output-dir', outputDir,
    '--max-workers', String(settings.max_workers),
    '--segment-duration', String(settings.segment_duration),
    '--lookahead', String(settings.lookahead_frames),
    '--encoder', String(settings.encoder),
    '--max-concurrent-jobs', String(settings.max_concurrent_jobs),
  ];
}

// A small environment, like the one a host gives a stdio server (no LD_LIBRARY_PATH: the bundle must not
// need one).
export function serverEnv(extra = {}) {
  const env = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'USER', 'LOGNAME']) {
    if (process.env[key] !== undefined) env[key] = process.env[key];
  }
  return { ...env, ...extra };
}

export async function makeTempDir(prefix) {
  // realpath: the server resolves its output dir with realpath, and /tmp may be a link.
  return fs.realpathSync(await fsp.mkdtemp(path.join(os.tmpdir(), prefix)));
}

const logDir = path.join(os.tmpdir(), 'pvt-mcp-test-logs');

// Starts a server with the SDK's stdio transport and connects a client (initialize + initialized).
// Returns { client, transport, stderrLog() }; the server's stderr is kept (and written to a log file).
export async function connect({ command, args, env, label = 'server' }) {
  const transport = new StdioClientTransport({ command, args, env, stderr: 'pipe' });
  const chunks = [];
  let size = 0;
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `${label.replace(/[^A-Za-z0-9_.-]+/g, '_')}-${process.pid}.log`);
  const log = fs.createWriteStream(logFile);
  transport.stderr?.on('data', (d) => {
    log.write(d);
    chunks.push(d);
    size += d.length;
    while (size > 64 * 1024 && chunks.length > 1) size -= chunks.shift().length;
  });
  const client = new Client({ name: 'pvt-mcp-tests', version: '0.1.0' }, { capabilities: {} });
  await client.connect(transport);
  // The order in which messages came off the wire (the SDK handles notifications a tick later than
  // responses, so it cannot tell a late progress notification from a race of its own).
  const wire = [];
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if ('id' in message && ('result' in message || 'error' in message)) wire.push({ response: message.id });
    else if (message.method === 'notifications/progress') wire.push({ progress: message.params?.progressToken });
    deliver?.(message, extra);
  };
  return {
    client,
    transport,
    wire,
    logFile,
    stderrTail: () => Buffer.concat(chunks).toString('utf8').slice(-4000),
    async close() {
      await client.close().catch(() => {});
      log.end();
    },
  };
}

// The text of a tool result's first text content (the human summary).
export function resultText(result) {
  return (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

// ffprobe as an independent judge: streams, packet counts, duration.
export async function ffprobe(file) {
  const { stdout } = await execFile('ffprobe', [
    '-v', 'error', '-count_packets',
    '-show_entries', 'stream=codec_type,codec_name,width,height,nb_read_packets:format=format_name,duration',
    '-of', 'json', file,
  ], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout);
}

// Every file below dir (relative paths), for "nothing was left behind" checks.
export function listTree(dir) {
  const out = [];
  const walk = (d, rel) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(e.isDirectory() ? `${r}/` : r);
      if (e.isDirectory()) walk(path.join(d, e.name), r);
    }
  };
  walk(dir, '');
  return out.sort();
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A raw line-oriented JSON-RPC peer over a spawned server, for what the SDK cannot send (garbage, batches,
// old protocol versions) and for checking that stdout carries JSON-RPC lines and nothing else.
export class RawServer {
  // spawnOptions: extra child_process.spawn options (cwd).
  constructor(command, args, env, spawnOptions = {}) {
    this.proc = spawn(command, args, { ...spawnOptions, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.lines = [];
    this.badLines = [];
    this.waiters = [];
    this.stderr = '';
    this.exit = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    let buf = '';
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        let msg;
        try {
          msg = JSON.parse(line);
        } catch {
          this.badLines.push(line);
          continue;
        }
        if (msg === null || typeof msg !== 'object' || Array.isArray(msg) || msg.jsonrpc !== '2.0') {
          this.badLines.push(line);
          continue;
        }
        this.lines.push(msg);
        this.waiters = this.waiters.filter((w) => !(w.match(msg) && (w.resolve(msg), true)));
      }
    });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-16000); });
  }

  sendLine(line) { this.proc.stdin.write(line + '\n'); }
  send(msg) { this.sendLine(JSON.stringify(msg)); }

  // The first message from index `from` on (default: any so far) that matches.
  waitFor(match, timeoutMs = 10000, from = 0) {
    const found = this.lines.slice(from).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`)), timeoutMs);
      this.waiters.push({ match, resolve: (m) => { clearTimeout(timer); resolve(m); } });
    });
  }

  async request(id, method, params, timeoutMs = 10000) {
    this.send({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
    return this.waitFor((m) => m.id === id && ('result' in m || 'error' in m), timeoutMs);
  }

  async initialize(protocolVersion = '2025-11-25') {
    const r = await this.request('init', 'initialize', {
      protocolVersion, capabilities: {}, clientInfo: { name: 'raw-test', version: '0' },
    });
    this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return r;
  }

  async close() {
    this.proc.stdin.end();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    const r = await this.exit;
    clearTimeout(t);
    return r;
  }
}
