#!/usr/bin/env node
'use strict';
/**
 * `npm start` / `npm test` / `npm run bench` on a machine that has only Node 20 and npm.
 *
 *   1. find pnpm at the version package.json pins (`packageManager`): the `pnpm` on PATH when its
 *      version matches exactly, else `npx --yes pnpm@<version>` (no root needed);
 *   2. `pnpm install --frozen-lockfile`, skipped when node_modules was installed from the same
 *      lockfile and manifests (a hash kept in node_modules/.agent-forge-install-stamp);
 *   3. `pnpm build`;
 *   4. start → node tools/devstack/dist/start.js
 *      test  → make sure Redis answers (start a local one if not), then `npx jest --ci <args>`
 *      bench → make sure Redis answers, then node bench/run.mjs <args>
 *
 * Plain Node, no dependencies: it runs before anything is installed. Exits with the child's exit
 * code and forwards SIGINT/SIGTERM to it.
 */
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const IS_WIN = process.platform === 'win32';
const STAMP = path.join(ROOT, 'node_modules', '.agent-forge-install-stamp');
const COMMANDS = ['start', 'test', 'bench'];

function say(message) {
  process.stdout.write(`[agent-forge] ${message}\n`);
}

function fail(message, code = 1) {
  process.stderr.write(`[agent-forge] ${message}\n`);
  process.exit(code);
}

function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    fail(`Node.js >= 20.19 is required (this is ${process.version}). Install Node 20 LTS or newer.`);
  }
}

function pinnedPnpmVersion() {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const m = /^pnpm@(\d+\.\d+\.\d+)/.exec(pkg.packageManager || '');
  if (!m) fail('package.json has no "packageManager": "pnpm@x.y.z" field.');
  return m[1];
}

/** Environment for pnpm/npx children: never let corepack stop to ask a question. */
function toolEnv() {
  return { ...process.env, COREPACK_ENABLE_DOWNLOAD_PROMPT: '0', npm_config_yes: 'true' };
}

/** The pnpm command as [file, ...leading args]. */
function findPnpm(version) {
  const probe = spawnSync('pnpm', ['--version'], { cwd: ROOT, encoding: 'utf8', env: toolEnv(), shell: IS_WIN });
  const found = probe.status === 0 ? String(probe.stdout).trim() : null;
  if (found === version) return ['pnpm'];
  say(
    found
      ? `pnpm ${found} is on PATH but this repository pins pnpm ${version}; using npx --yes pnpm@${version}.`
      : `pnpm is not on PATH; using npx --yes pnpm@${version}.`,
  );
  return ['npx', '--yes', `pnpm@${version}`];
}

/** Run a command to completion with inherited stdio; exit with its code when it fails. */
function runOrExit(cmd, args, what) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: toolEnv(), shell: IS_WIN });
  if (r.error) fail(`${what} could not run: ${r.error.message}`);
  if (r.status !== 0) fail(`${what} failed (exit ${r.status === null ? r.signal : r.status}).`, r.status || 1);
}

/** Workspace package folders, from the `packages:` list of pnpm-workspace.yaml (simple globs only). */
function workspaceDirs() {
  const yaml = fs.readFileSync(path.join(ROOT, 'pnpm-workspace.yaml'), 'utf8');
  const dirs = [ROOT];
  let inPackages = false;
  for (const line of yaml.split(/\r?\n/)) {
    if (/^packages:\s*$/.test(line)) {
      inPackages = true;
      continue;
    }
    if (inPackages && /^\S/.test(line)) inPackages = false;
    const m = inPackages && /^\s+-\s+["']?([^"'#]+?)["']?\s*(#.*)?$/.exec(line);
    if (!m) continue;
    const pattern = m[1];
    if (pattern.startsWith('!')) continue;
    if (pattern.endsWith('/*')) {
      const base = path.join(ROOT, pattern.slice(0, -2));
      if (!fs.existsSync(base)) continue;
      for (const name of fs.readdirSync(base).sort()) dirs.push(path.join(base, name));
    } else {
      dirs.push(path.join(ROOT, pattern));
    }
  }
  return dirs.filter((d) => fs.existsSync(path.join(d, 'package.json')));
}

/** What an install depends on: the lockfile, the workspace file and each manifest's dependency fields. */
function installHash(pnpmVersion) {
  const h = crypto.createHash('sha256');
  h.update(`pnpm@${pnpmVersion}\0node-abi@${process.versions.modules}\0${process.platform}-${process.arch}\0`);
  for (const file of ['pnpm-lock.yaml', 'pnpm-workspace.yaml']) {
    h.update(`${file}\0`);
    h.update(fs.readFileSync(path.join(ROOT, file)));
  }
  for (const dir of workspaceDirs()) {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const deps = {};
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies', 'pnpm']) {
      if (pkg[field]) deps[field] = pkg[field];
    }
    h.update(`${path.relative(ROOT, dir) || '.'}\0${JSON.stringify(deps)}\0`);
  }
  return h.digest('hex');
}

/**
 * node_modules counts as current when the stamp matches, or (no stamp yet: installed by hand)
 * when pnpm's own record of the last install is not older than the lockfile and every manifest
 * (give or take a few seconds: `pnpm add` rewrites the manifest right after that record).
 */
function installIsCurrent(hash) {
  const modulesYaml = path.join(ROOT, 'node_modules', '.modules.yaml');
  if (!fs.existsSync(modulesYaml)) return false;
  if (fs.existsSync(STAMP)) return fs.readFileSync(STAMP, 'utf8').trim() === hash;
  const installedAt = fs.statSync(modulesYaml).mtimeMs;
  const inputs = [
    path.join(ROOT, 'pnpm-lock.yaml'),
    path.join(ROOT, 'pnpm-workspace.yaml'),
    ...workspaceDirs().map((d) => path.join(d, 'package.json')),
  ];
  const current = inputs.every((f) => fs.statSync(f).mtimeMs <= installedAt + 10_000);
  if (current) fs.writeFileSync(STAMP, `${hash}\n`);
  return current;
}

/** Run `cmd args` as the foreground child; resolve with the code this process should exit with. */
function runChild(cmd, args, env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: 'inherit', env, shell: IS_WIN });
    let lastForward = 0;
    const forward = (signal) => {
      // One keypress reaches this process, npm and the child at once; pass a repeat on only when it
      // comes later (a second Ctrl-C means "stop now").
      const now = Date.now();
      if (now - lastForward < 1_000) return;
      lastForward = now;
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', (err) => {
      process.stderr.write(`[agent-forge] could not run ${cmd}: ${err.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code !== null ? code : 128 + (os.constants.signals[signal] || 1));
    });
  });
}

/** Make sure a Redis answers on REDIS_URL, starting a local one if not (the devstack's logic). */
async function ensureRedis() {
  const { ensureRedis: ensure, DevstackError } = require(path.join(ROOT, 'tools', 'devstack', 'dist', 'redis.js'));
  try {
    return await ensure({ root: ROOT, log: say });
  } catch (err) {
    fail(err instanceof DevstackError ? err.message : `could not get a Redis: ${err && err.message}`);
  }
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  if (!COMMANDS.includes(command)) fail(`usage: node scripts/bootstrap.cjs <${COMMANDS.join('|')}> [args...]`, 2);
  checkNode();

  const version = pinnedPnpmVersion();
  const pnpm = findPnpm(version);
  const hash = installHash(version);
  if (installIsCurrent(hash)) {
    say('dependencies are up to date with pnpm-lock.yaml');
  } else {
    say('installing dependencies (pnpm install --frozen-lockfile)…');
    // A stamp that matches no hash: an install that fails half-way is never taken as current.
    fs.mkdirSync(path.dirname(STAMP), { recursive: true });
    fs.writeFileSync(STAMP, 'install did not finish\n');
    runOrExit(pnpm[0], [...pnpm.slice(1), 'install', '--frozen-lockfile'], 'pnpm install');
    fs.writeFileSync(STAMP, `${hash}\n`);
  }
  say('building (pnpm build)…');
  runOrExit(pnpm[0], [...pnpm.slice(1), 'build'], 'pnpm build');

  let code;
  if (command === 'start') {
    code = await runChild(process.execPath, [path.join(ROOT, 'tools', 'devstack', 'dist', 'start.js'), ...rest], process.env);
  } else {
    const redis = await ensureRedis();
    const env = { ...process.env, REDIS_URL: redis.url };
    // While the child runs, a signal is the child's to handle; afterwards we stop our Redis (if we
    // started one) whatever arrives, then exit.
    if (command === 'test') {
      code = await runChild('npx', ['jest', '--ci', ...rest], env);
    } else {
      code = await runChild(process.execPath, [path.join(ROOT, 'bench', 'run.mjs'), ...rest], env);
    }
    const ignore = () => {};
    process.on('SIGINT', ignore);
    process.on('SIGTERM', ignore);
    await redis.stop();
  }
  process.exit(code);
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
