import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommandExecutor, UnknownExecutorError } from '@agent-forge/engine';
import { loadWorkerConfig } from './config';
import { buildExecutorRegistry } from './executors';

const dir = mkdtempSync(path.join(os.tmpdir(), 'af-cmd-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const allowList = {
  prune: { argv: ['python3', '/opt/executors/prune.py'], env: { OMP_NUM_THREADS: '1' }, cwd: dir, limits: { memory_mb: 256, timeout_s: 600, kill_grace_ms: 2000 } },
  quantize: { argv: ['node', '/opt/executors/quantize.mjs'] },
};

describe('WORKER_COMMAND_EXECUTORS', () => {
  it('reads the allow-list inline or from a file and installs each entry under its name with the worker defaults filled in', () => {
    const file = path.join(dir, 'executors.json');
    writeFileSync(file, JSON.stringify(allowList));
    for (const value of [JSON.stringify(allowList), file]) {
      const config = loadWorkerConfig({ WORKER_COMMAND_EXECUTORS: value, AGENT_MEMORY_LIMIT_MB: '700', EXECUTOR_KILL_GRACE_MS: '1500' });
      const registry = buildExecutorRegistry(config);
      expect(registry.names()).toEqual(expect.arrayContaining(['dry-run', 'forge', 'prune', 'quantize']));
      const prune = registry.get('prune') as CommandExecutor;
      expect(prune.spec).toEqual({ name: 'prune', argv: ['python3', '/opt/executors/prune.py'], env: { OMP_NUM_THREADS: '1' }, cwd: dir, memoryLimitMb: 256, timeoutMs: 600_000, killGraceMs: 2000 });
      expect((registry.get('quantize') as CommandExecutor).spec).toMatchObject({ memoryLimitMb: 700, killGraceMs: 1500, timeoutMs: 0, env: {} });
      // a pipeline naming anything else still fails as before
      expect(() => registry.get('rm -rf /')).toThrow(UnknownExecutorError);
    }
  });

  it('is empty by default', () => {
    expect(loadWorkerConfig({}).WORKER_COMMAND_EXECUTORS).toEqual({});
  });

  it('stops start-up with an error naming the bad entry and field', () => {
    const bad = { ...allowList, broken: { argv: [], limits: { memory_mb: 1 } } };
    expect(() => loadWorkerConfig({ WORKER_COMMAND_EXECUTORS: JSON.stringify(bad) })).toThrow(/WORKER_COMMAND_EXECUTORS: executor "broken" argv: .*\n.*executor "broken" limits\.memory_mb/);
    expect(() => loadWorkerConfig({ WORKER_COMMAND_EXECUTORS: JSON.stringify({ x: { argv: ['a'], shell: true } }) })).toThrow(/executor "x".*shell/);
    expect(() => loadWorkerConfig({ WORKER_COMMAND_EXECUTORS: JSON.stringify({ x: { argv: ['a'], cwd: '/no/such/dir' } }) })).toThrow(/executor "x" cwd: \/no\/such\/dir is not a directory/);
    expect(() => loadWorkerConfig({ WORKER_COMMAND_EXECUTORS: '/no/such/file.json' })).toThrow(/cannot read the allow-list file/);
    expect(() => loadWorkerConfig({ WORKER_COMMAND_EXECUTORS: '{not json' })).toThrow(/not valid JSON/);
  });

  it('refuses an executor name that is already taken', () => {
    const config = loadWorkerConfig({ WORKER_COMMAND_EXECUTORS: JSON.stringify({ forge: { argv: ['python3', 'evil.py'] } }) });
    expect(() => buildExecutorRegistry(config)).toThrow(/executor name "forge" is used twice/);
  });
});
