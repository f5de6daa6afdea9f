#!/usr/bin/env node
// Builds the dashboard into dist/: the TypeScript bundled by esbuild into one script file (no
// inline script anywhere: the page runs under a strict CSP), plus the static HTML and CSS.
// `pnpm build` at the root runs it after `tsc -b` (which type-checks src/ with the DOM types).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist');
const started = Date.now();

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(root, 'src', 'main.ts')],
  outfile: path.join(out, 'dashboard.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // The browser entry of the SDK (fetch + WebSocket only); its Node entry is never bundled.
  external: ['ws', 'node:*'],
});
for (const file of readdirSync(path.join(root, 'static'))) copyFileSync(path.join(root, 'static', file), path.join(out, file));
process.stdout.write(`dashboard built into ${path.relative(process.cwd(), out) || out} in ${Date.now() - started} ms\n`);
