// The MCPB bundle (build/pvt.mcpb, made by scripts/build-bundle.sh): its manifest passes the pinned MCPB
// CLI, it unpacks to a server that needs nothing from the machine but the system core, and that server,
// started exactly as the manifest's mcp_config says, passes the same session suite as the built one and the
// MCP Inspector's strict tools/list.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { defineSessionSuite } from './session-suite.mjs';
import {
  RawServer, binDir, bundlePath, execFile, makeTempDir, manifestPath, serverEnv, testSettings,
} from './helpers.mjs';

const mcpb = path.join(binDir, 'mcpb');
const inspector = path.join(binDir, 'mcp-inspector');
const repoManifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));

assert.ok(fs.existsSync(bundlePath), `${bundlePath} is missing: run scripts/build-bundle.sh first`);
const unpackDir = await makeTempDir('pvt-mcp-bundle-');
await execFile(mcpb, ['unpack', bundlePath, unpackDir]);
const manifest = JSON.parse(fs.readFileSync(path.join(unpackDir, 'manifest.json'), 'utf8'));

// What a host does with mcp_config: take the platform's override, put the bundle's folder for ${__dirname}
// and each user_config value for ${user_config.KEY}; a value the host does not have stays literal text.
function hostLaunch(userConfig, { platform = process.platform, env = {} } = {}) {
  const base = manifest.server.mcp_config;
  const over = base.platform_overrides?.[platform] ?? {};
  const subst = (s) => s.replaceAll('${__dirname}', unpackDir)
    .replace(/\$\{user_config\.([A-Za-z0-9_]+)\}/g, (m, key) => (key in userConfig ? String(userConfig[key]) : m));
  const cfgEnv = { ...(base.env ?? {}), ...(over.env ?? {}) };
  return {
    command: subst(over.command ?? base.command),
    args: (over.args ?? base.args ?? []).map(subst),
    env: { ...serverEnv(env), ...Object.fromEntries(Object.entries(cfgEnv).map(([k, v]) => [k, subst(v)])) },
  };
}
const testUserConfig = (outputDir) => ({ ...testSettings, output_directory: outputDir });
const defaults = () => Object.fromEntries(Object.entries(manifest.user_config).map(([k, o]) => [k, o.default]));

after(async () => { await fsp.rm(unpackDir, { recursive: true, force: true }); });

describe('MCPB manifest and bundle', () => {
  it('manifest.json passes `mcpb validate` of the pinned CLI (2.1.2), in the repository and in the bundle', async () => {
    const { stdout: version } = await execFile(mcpb, ['--version']);
    assert.equal(version.trim(), '2.1.2');
    for (const file of [manifestPath, path.join(unpackDir, 'manifest.json')]) {
      const { stdout } = await execFile(mcpb, ['validate', file]); // rejects on a non-zero exit
      assert.match(stdout, /Manifest schema validation passes/);
    }
  });

  it('the manifest gives every option a default and passes them all to the server', () => {
    const m = repoManifest;
    assert.equal(m.manifest_version, '0.3');
    assert.equal(m.name, 'pvt');
    assert.equal(m.version, '0.1.0');
    assert.equal(m.server.type, 'binary');
    assert.equal(m.server.entry_point, 'server/pvt-mcp');
    assert.equal(m.server.mcp_config.command, '${__dirname}/server/pvt-mcp');
    assert.match(m.server.mcp_config.platform_overrides.win32.command, /pvt-mcp\.exe$/);
    assert.deepEqual([...m.compatibility.platforms].sort(), ['darwin', 'linux', 'win32']);
    const expected = {
      output_directory: ['directory', '${HOME}/pvt-output', '--output-dir'],
      max_workers: ['number', 0, '--max-workers'],
      segment_duration: ['number', 10, '--segment-duration'],
      lookahead_frames: ['number', 40, '--lookahead'],
      encoder: ['string', 'auto', '--encoder'],
      max_concurrent_jobs: ['number', 1, '--max-concurrent-jobs'],
      executor: ['string', 'local', '--executor'],
      slurm_partition: ['string', '', '--slurm-partition'],
      slurm_account: ['string', '', '--slurm-account'],
      slurm_time: ['string', '', '--slurm-time'],
      slurm_extra: ['string', '', '--slurm-extra'],
    };
    assert.deepEqual(Object.keys(m.user_config).sort(), Object.keys(expected).sort());
    const args = m.server.mcp_config.args;
    for (const [key, [type, def, flag]] of Object.entries(expected)) {
      const opt = m.user_config[key];
      assert.equal(opt.type, type, key);
      assert.deepEqual(opt.default, def, `${key} has its default`);
      const i = args.indexOf(flag);
      assert.ok(i >= 0 && args[i + 1] === `\${user_config.${key}}`, `${flag} \${user_config.${key}} in args`);
    }
    assert.equal(m.user_config.output_directory.required, true);
    assert.equal(m.user_config.max_workers.min, 0);
    assert.equal(m.user_config.max_concurrent_jobs.min, 1);
    for (const a of args) {
      for (const [, key] of a.matchAll(/\$\{user_config\.([A-Za-z0-9_]+)\}/g)) assert.ok(key in m.user_config, key);
    }
    // The bundle's manifest is the repository's, narrowed to the platform its binary was built for.
    assert.deepEqual(manifest.compatibility.platforms, ['linux']);
    assert.deepEqual({ ...manifest, compatibility: undefined }, { ...m, compatibility: undefined });
  });

  it('the bundle holds the server, its libraries and notes, and the server loads only bundled libraries', async (t) => {
    const size = fs.statSync(bundlePath).size;
    t.diagnostic(`${bundlePath}: ${(size / 1048576).toFixed(1)} MiB`);
    assert.ok(size < 200 * 1048576, 'under 200 MiB');
    const top = fs.readdirSync(unpackDir).sort();
    for (const entry of top) assert.ok(['README.txt', 'lib', 'licenses', 'manifest.json', 'server'].includes(entry), entry);
    assert.deepEqual(fs.readdirSync(path.join(unpackDir, 'server')), ['pvt-mcp']);
    const server = path.join(unpackDir, 'server', 'pvt-mcp');
    assert.equal(fs.statSync(server).mode & 0o777, 0o755, 'server/pvt-mcp is mode 755');

    const libs = fs.readdirSync(path.join(unpackDir, 'lib'));
    for (const core of ['libc.so.6', 'libm.so.6', 'libstdc++.so.6', 'libgcc_s.so.1', 'libpthread.so.0']) {
      assert.ok(!libs.includes(core), `${core} comes from the host`);
    }
    assert.ok(!libs.some((l) => l.startsWith('ld-linux')), 'no loader');

    const { stdout } = await execFile('ldd', [server], { env: serverEnv() });
    assert.doesNotMatch(stdout, /not found/);
    const resolved = Object.fromEntries([...stdout.matchAll(/^\s*(\S+) => (\S+)/gm)].map((m) => [m[1], m[2]]));
    const libDir = path.join(unpackDir, 'lib');
    const inBundle = Object.keys(resolved).filter((n) => path.dirname(fs.realpathSync(resolved[n])) === libDir);
    for (const prefix of ['libavformat.', 'libavcodec.', 'libavutil.', 'libswscale.', 'libswresample.', 'libx264.']) {
      assert.ok(inBundle.some((n) => n.startsWith(prefix)), `${prefix}so comes from the bundle: ${resolved}`);
    }
    for (const lib of libs) assert.ok(inBundle.includes(lib), `lib/${lib} is used`);
  });

  it('started with the manifest defaults (${HOME} left for the server), it creates ${HOME}/pvt-output', async () => {
    const home = await makeTempDir('pvt-mcp-home-');
    try {
      const { command, args, env } = hostLaunch(defaults(), { env: { HOME: home } });
      assert.ok(args.includes('${HOME}/pvt-output'), 'hosts do not expand ${HOME}');
      const s = new RawServer(command, args, env);
      try {
        const r = await s.initialize();
        assert.ok(r.result, `${JSON.stringify(r)} ${s.stderr}`);
      } finally {
        await s.close();
      }
      assert.ok(fs.statSync(path.join(home, 'pvt-output')).isDirectory());
    } finally {
      await fsp.rm(home, { recursive: true, force: true });
    }
  });

  it('an option the host left unsubstituted stops the server with a message naming it', async () => {
    const dir = await makeTempDir('pvt-mcp-unset-');
    try {
      const { max_workers: _unset, ...userConfig } = testUserConfig(dir);
      const { command, args, env } = hostLaunch(userConfig);
      const s = new RawServer(command, args, env);
      const t = setTimeout(() => s.proc.kill('SIGKILL'), 10_000);
      const { code } = await s.exit;
      clearTimeout(t);
      assert.equal(code, 2, s.stderr);
      assert.match(s.stderr, /pvt-mcp: error: --max-workers was given the unexpanded placeholder '\$\{user_config\.max_workers\}'/);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  const nodeMajor = Number(process.versions.node.split('.')[0]);
  it('passes the MCP Inspector CLI: tools/list --strict exits 0', {
    skip: nodeMajor < 20 && `the pinned Inspector needs Node 20 or newer (this is ${process.version})`,
  }, async () => {
    const dir = await makeTempDir('pvt-mcp-inspector-');
    try {
      const { command, args, env } = hostLaunch(testUserConfig(path.join(dir, 'out')));
      const { stdout } = await execFile(inspector, [
        '--cli', '--method', 'tools/list', '--strict', '--format', 'json', command, ...args,
      ], { env: { ...process.env, ...env, HOME: dir }, timeout: 60_000 }); // rejects unless exit 0
      const tools = JSON.parse(stdout).result.tools;
      assert.equal(tools.length, 6);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

defineSessionSuite('unpacked from pvt.mcpb', (outputDir) => hostLaunch(testUserConfig(outputDir)), { full: false });
