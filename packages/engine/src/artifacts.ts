import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type { ArtifactRef } from '@agent-forge/contracts';

export type { ArtifactRef } from '@agent-forge/contracts';

/**
 * Large artifacts live outside Redis; Redis keeps only their references. Implementations write
 * atomically (a reader never sees half an artifact) and `get` verifies the checksum.
 */
export interface ArtifactStore {
  put(key: string, data: Uint8Array, mediaType?: string): Promise<ArtifactRef>;
  get(ref: ArtifactRef): Promise<Uint8Array>;
  delete(ref: Pick<ArtifactRef, 'uri'>): Promise<void>;
  /** URIs of every artifact stored under a key prefix (e.g. one session's). */
  list(prefix: string): Promise<string[]>;
  /** The first segments of all keys (the session ids that have artifacts). */
  topLevel(): Promise<string[]>;
  /** Delete everything under a key prefix (a finished session's artifacts). */
  deletePrefix(prefix: string): Promise<void>;
}

export class ArtifactIntegrityError extends Error {
  override readonly name = 'ArtifactIntegrityError';
  readonly code = 'ARTIFACT_CORRUPT';
}

const SAFE_KEY = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Filesystem store under one root (a shared volume when workers run on several machines).
 * Writes go to a temp file in the same directory, are fsynced, then renamed into place.
 */
export class FsArtifactStore implements ArtifactStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  private pathFor(key: string): string {
    if (!SAFE_KEY.test(key) || key.split('/').some((p) => p === '.' || p === '..')) {
      throw new Error(`invalid artifact key "${key}"`);
    }
    return path.join(this.root, key);
  }

  private pathOf(uri: string): string {
    const p = fileURLToPath(uri);
    const rel = path.relative(this.root, p);
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`artifact ${uri} is outside the store root`);
    return p;
  }

  async put(key: string, data: Uint8Array, mediaType = 'application/octet-stream'): Promise<ArtifactRef> {
    const target = this.pathFor(key);
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
    return { uri: pathToFileURL(target).href, sha256: sha256(data), size_bytes: data.byteLength, media_type: mediaType };
  }

  async get(ref: ArtifactRef): Promise<Uint8Array> {
    const data = new Uint8Array(await readFile(this.pathOf(ref.uri)));
    const actual = sha256(data);
    if (actual !== ref.sha256) {
      throw new ArtifactIntegrityError(`artifact ${ref.uri} is corrupt: sha256 ${actual} != ${ref.sha256}`);
    }
    return data;
  }

  async delete(ref: Pick<ArtifactRef, 'uri'>): Promise<void> {
    await rm(this.pathOf(ref.uri), { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    const dir = this.pathFor(prefix.replace(/\/+$/, ''));
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    return entries
      .filter((e) => e.isFile() && !/\.tmp-[0-9a-f]+$/.test(e.name))
      .map((e) => pathToFileURL(path.join(e.parentPath, e.name)).href)
      .sort();
  }

  async topLevel(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    await rm(this.pathFor(prefix.replace(/\/+$/, '')), { recursive: true, force: true });
  }

  /** Temp files of writes that never finished (a worker died mid-write), older than `ageMs`. */
  async staleTempFiles(ageMs: number, now = Date.now()): Promise<string[]> {
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch(() => []);
    const out: string[] = [];
    for (const e of entries) {
      if (!e.isFile() || !/\.tmp-[0-9a-f]+$/.test(e.name)) continue;
      const p = path.join(e.parentPath, e.name);
      const st = await stat(p).catch(() => null);
      if (st && now - st.mtimeMs > ageMs) out.push(p);
    }
    return out;
  }

  async size(ref: Pick<ArtifactRef, 'uri'>): Promise<number> {
    return (await stat(this.pathOf(ref.uri))).size;
  }
}
