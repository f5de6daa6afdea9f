import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactIntegrityError, FsArtifactStore, sha256 } from './artifacts';

let root: string;
let store: FsArtifactStore;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'af-artifacts-'));
  store = new FsArtifactStore(root);
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('FsArtifactStore', () => {
  it('stores by reference with a checksum and its real size, and reads it back', async () => {
    const data = new Uint8Array([1, 2, 3, 4, 5]);
    const ref = await store.put('s1/cognate/model.bin', data);
    expect(ref).toMatchObject({ sha256: sha256(data), size_bytes: 5 });
    expect(ref.uri.startsWith('file://')).toBe(true);
    expect(await store.get(ref)).toEqual(data);
    expect(await store.size(ref)).toBe(5);
    // nothing but the artifact is left in the directory (the temp file was renamed)
    expect(await readdir(path.join(root, 's1', 'cognate'))).toEqual(['model.bin']);
  });

  it('refuses an artifact whose bytes no longer match the checksum', async () => {
    const ref = await store.put('s1/training/model.bin', new Uint8Array([9, 9, 9]));
    await writeFile(fileURLToPath(ref.uri), new Uint8Array([9, 9, 8]));
    await expect(store.get(ref)).rejects.toBeInstanceOf(ArtifactIntegrityError);
  });

  it('refuses keys and URIs that escape the root', async () => {
    await expect(store.put('../escape.bin', new Uint8Array([1]))).rejects.toThrow(/invalid artifact key/);
    await expect(store.get({ uri: 'file:///etc/passwd', sha256: '', size_bytes: 0, media_type: '' })).rejects.toThrow(/outside the store root/);
  });

  it('deletes an artifact', async () => {
    const ref = await store.put('s2/bitnet/model.bin', new Uint8Array([1]));
    await store.delete(ref);
    await expect(store.size(ref)).rejects.toThrow();
  });
});
