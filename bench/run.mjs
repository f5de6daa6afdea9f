#!/usr/bin/env node
/**
 * `npm run bench`: runs every benchmark (each folder of bench/ with an index.mjs), one after the
 * other, each in its own process; or only those named: `npm run bench -- status-endpoint`.
 * Expects built code (`pnpm build`) and a Redis on REDIS_URL; `npm run bench` sees to both.
 * Exits non-zero when any benchmark failed.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(path.join(here, d.name, 'index.mjs')))
  .map((d) => d.name)
  .sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
const selected = wanted.length > 0 ? wanted : all;

// A Ctrl-C reaches the benchmark too (same process group); it cleans up and exits, then so do we.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => (interrupted = true));

const failed = [];
for (const name of selected) {
  if (interrupted) break;
  console.log(`\n=== bench: ${name} ===`);
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(here, name, 'index.mjs')], { stdio: 'inherit' });
    child.on('error', (err) => {
      console.error(`could not run ${name}: ${err.message}`);
      resolve(1);
    });
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  if (code !== 0) failed.push(name);
}
if (failed.length > 0) console.error(`\nfailed: ${failed.join(', ')}`);
process.exit(interrupted ? 130 : failed.length > 0 ? 1 : 0);
