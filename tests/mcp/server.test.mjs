// pvt-mcp as built (build/mcp/pvt-mcp): the session suite, then the protocol and command-line details that
// the SDK client cannot exercise (garbage lines, batches, protocol versions, placeholders, ${HOME}).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { defineSessionSuite } from './session-suite.mjs';
import {
  RawServer, connect, devServerArgs, makeTempDir, resultText, sampleClip, serverBinary, serverEnv, testSettings,
} from './helpers.mjs';

assert.ok(fs.existsSync(serverBinary), `${serverBinary} is missing: build it first (ninja -C build pvt-mcp)`);

defineSessionSuite('build/mcp/pvt-mcp', (outputDir) => ({
  command: serverBinary, args: devServerArgs(outputDir), env: serverEnv(),
}));

describe('pvt-mcp protocol over raw stdio', () => {
  let dir;
  before(async () => { dir = await makeTempDir('pvt-mcp-raw-'); });
  after(async () => { await fsp.rm(dir, { recursive: true, force: true }); });

  const start = (args = devServerArgs(dir), env = serverEnv()) => new RawServer(serverBinary, args, env);

  it('negotiates the protocol version and describes itself', async () => {
    for (const [asked, expected] of [['2025-11-25', '2025-11-25'], ['2025-06-18', '2025-06-18'],
      ['2025-03-26', '2025-03-26'], ['1999-01-01', '2025-11-25']]) {
      const s = start();
      try {
        const r = await s.initialize(asked);
        assert.ok(r.result, `initialize(${asked}): ${JSON.stringify(r)}`);
        assert.equal(r.result.protocolVersion, expected, `asked ${asked}`);
        assert.deepEqual(r.result.serverInfo, { name: 'pvt', version: '0.1.0' });
        assert.equal(r.result.capabilities.tools?.listChanged, false);
        assert.ok(r.result.capabilities.logging);
        assert.equal(typeof r.result.instructions, 'string');
        assert.deepEqual((await s.request(2, 'ping')).result, {});
        assert.deepEqual(s.badLines, [], 'stdout carries JSON-RPC only');
      } finally {
        const { code } = await s.close();
        assert.equal(code, 0, `exits 0 when stdin closes; stderr: ${s.stderr}`);
      }
    }
  });

  it('answers malformed input with JSON-RPC errors and keeps going', async () => {
    const s = start();
    try {
      await s.initialize();
      let mark = s.lines.length;
      s.sendLine('{"jsonrpc":"2.0","id":1,"method":"ping"');
      const parse = await s.waitFor((m) => 'error' in m, 10000, mark);
      assert.equal(parse.error.code, -32700, JSON.stringify(parse));
      assert.equal(parse.id, null);

      mark = s.lines.length;
      s.send([{ jsonrpc: '2.0', id: 2, method: 'ping' }, { jsonrpc: '2.0', id: 3, method: 'ping' }]);
      const batch = await s.waitFor((m) => 'error' in m || 'result' in m, 10000, mark);
      assert.equal(batch.error.code, -32600, `a batch is refused: ${JSON.stringify(batch)}`);

      const invalid = await s.request(4, 42);
      assert.equal(invalid.error?.code, -32600, JSON.stringify(invalid));

      const unknown = await s.request(5, 'no/such/method');
      assert.equal(unknown.error?.code, -32601, JSON.stringify(unknown));

      const badParams = await s.request(6, 'tools/call', { name: 42 });
      assert.equal(badParams.error?.code, -32602, JSON.stringify(badParams));

      const unknownTool = await s.request(7, 'tools/call', { name: 'nope', arguments: {} });
      assert.equal(unknownTool.error?.code, -32602);
      assert.equal(unknownTool.error?.message, 'Unknown tool: nope');

      assert.deepEqual((await s.request(8, 'logging/setLevel', { level: 'debug' })).result, {});
      assert.deepEqual((await s.request('str-id', 'ping')).result, {}, 'string ids work');
      const list = await s.request(9, 'tools/list');
      assert.equal(list.result.tools.length, 6);
      assert.deepEqual(s.badLines, [], 'stdout carries JSON-RPC only');
      assert.ok(!s.lines.some((m) => m.id === 1 && m.result), 'no answer to the broken line');
    } finally {
      await s.close();
    }
  });

  it('refuses an unexpanded ${...} placeholder at start, naming the option', async () => {
    for (const [option, value] of [['--max-workers', '${user_config.max_workers}'],
      ['--output-dir', '${user_config.output_directory}']]) {
      const args = devServerArgs(dir).filter((_, i, a) => a[i] !== option && a[i - 1] !== option);
      const s = start([...args, option, value]);
      const t = setTimeout(() => s.proc.kill('SIGKILL'), 10_000);
      const { code } = await s.exit;
      clearTimeout(t);
      assert.equal(code, 2, `${option}: exit 2; stderr: ${s.stderr}`);
      assert.equal(s.lines.length + s.badLines.length, 0, 'nothing on stdout');
      const lines = s.stderr.trim().split('\n');
      assert.ok(lines.some((l) => l.startsWith('pvt-mcp: error: ') && l.includes(option) && l.includes(value)
        && l.includes('unexpanded placeholder')), `stderr names ${option}: ${s.stderr}`);
    }
  });

  it('expands ${HOME}, $HOME and ~ itself, falls back to PVT_OUTPUT_DIR, then to ${HOME}/pvt-output', async () => {
    const home = await makeTempDir('pvt-mcp-home-');
    try {
      const cases = [
        [['--output-dir', '${HOME}/from-braces'], {}, 'from-braces'],
        [['--output-dir', '$HOME/from-dollar'], {}, 'from-dollar'],
        [['--output-dir', '~/from-tilde'], {}, 'from-tilde'],
        [[], { PVT_OUTPUT_DIR: path.join(home, 'from-env') }, 'from-env'],
        [[], {}, 'pvt-output'],
      ];
      for (const [args, env, expected] of cases) {
        const s = start(args, serverEnv({ HOME: home, ...env }));
        try {
          const r = await s.initialize();
          assert.ok(r.result, `${args.join(' ')}: ${JSON.stringify(r)} ${s.stderr}`);
          assert.ok(fs.statSync(path.join(home, expected)).isDirectory(), `${expected} created (${args.join(' ')})`);
        } finally {
          await s.close();
        }
      }
      for (const base of [home, process.cwd()]) {
        for (const literal of ['${HOME}', '$HOME', '~']) {
          assert.ok(!fs.existsSync(path.join(base, literal)), `no literal ${literal} dir in ${base}`);
        }
      }
    } finally {
      await fsp.rm(home, { recursive: true, force: true });
    }
  });

  it('started with --encoder nvenc on a machine without NVENC, a transcode is a clear tool error', async () => {
    const srv = await connect({
      command: serverBinary, args: devServerArgs(dir, { ...testSettings, encoder: 'nvenc' }), env: serverEnv(),
      label: 'encoder-nvenc',
    });
    try {
      const caps = (await srv.client.callTool({ name: 'get_capabilities', arguments: {} })).structuredContent;
      if (caps.encoders.some((e) => e.name === 'nvenc' && e.available)) {
        console.log('# skipped: this machine has NVENC, so --encoder nvenc is not refused here');
        return;
      }
      const result = await srv.client.callTool({ name: 'transcode_video', arguments: { input: sampleClip } });
      assert.equal(result.isError, true, resultText(result));
      assert.match(resultText(result), /'nvenc' is not available on this machine \(.+\)/);
      const { jobs } = (await srv.client.callTool({ name: 'list_transcodes', arguments: {} })).structuredContent;
      assert.deepEqual(jobs, [], 'no job was queued');
    } finally {
      await srv.close();
    }
  });
});
