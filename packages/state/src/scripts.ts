import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';

/**
 * Lua scripts live in `lua/<name>-<numberOfKeys>.lua` (BullMQ's convention) and may pull in
 * shared fragments with `--@include <name>`. Each becomes a command on the client, loaded once
 * (EVALSHA, with ioredis falling back to EVAL after a SCRIPT FLUSH or a Redis restart).
 */
const LUA_DIR = path.join(__dirname, '..', 'lua');

function loadSource(file: string): string {
  const source = readFileSync(path.join(LUA_DIR, file), 'utf8');
  return source.replace(/^--@include (\w+)\s*$/gm, (_m, name: string) =>
    readFileSync(path.join(LUA_DIR, 'includes', `${name}.lua`), 'utf8'),
  );
}

const defined = new WeakSet<Redis>();

export function defineScripts(client: Redis): void {
  if (defined.has(client)) return;
  for (const file of readdirSync(LUA_DIR)) {
    const m = /^([A-Za-z]+)-(\d+)\.lua$/.exec(file);
    if (!m) continue;
    client.defineCommand(`af_${m[1]}`, { numberOfKeys: Number(m[2]), lua: loadSource(file) });
  }
  defined.add(client);
}

/** Call a script by name; the key count is part of its definition. */
export async function runScript<T = unknown>(client: Redis, name: string, keys: string[], args: (string | number)[]): Promise<T> {
  defineScripts(client);
  const fn = (client as unknown as Record<string, (...a: (string | number)[]) => Promise<T>>)[`af_${name}`];
  if (!fn) throw new Error(`unknown script ${name}`);
  return fn.call(client, ...keys, ...args);
}
