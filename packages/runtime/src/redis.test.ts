import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { commonEnv } from './env';
import { metricsRegistry } from './metrics';
import { closeRedis, createRedis, isCluster, parseHostList, redisTopology, writeTogether } from './redis';

describe('Redis topology from the environment', () => {
  it('parses host lists (IPv6 in brackets) and refuses malformed ones', () => {
    expect(parseHostList('a:1, b.example:26379,[::1]:6380')).toEqual([
      { host: 'a', port: 1 },
      { host: 'b.example', port: 26379 },
      { host: '::1', port: 6380 },
    ]);
    for (const bad of ['a', 'a:', 'a:0', 'a:70000', ':1', 'a:1,b']) expect(parseHostList(bad)).toBeNull();
  });

  it('single node, TLS, Sentinel and Cluster (scheme or node list)', () => {
    expect(redisTopology({ REDIS_URL: 'redis://h:1' })).toEqual({ kind: 'single', url: 'redis://h:1', tls: false });
    expect(redisTopology({ REDIS_URL: 'rediss://u:p@h:6380/2' })).toMatchObject({ kind: 'single', tls: true });
    expect(redisTopology({ REDIS_URL: 'redis://mymaster', REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_NAME: 'm' })).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'm',
      tls: false,
    });
    expect(redisTopology({ REDIS_URL: 'rediss-cluster://:pw@seed:7000' })).toEqual({ kind: 'cluster', nodes: [{ host: 'seed', port: 7000 }], tls: true });
    expect(redisTopology({ REDIS_URL: 'redis://x:1', REDIS_CLUSTER_NODES: 'a:7000,b:7001' })).toMatchObject({ kind: 'cluster', nodes: [{ host: 'a' }, { host: 'b' }] });
  });

  it('refuses contradictions: Sentinel with Cluster, a db on Cluster, unknown schemes', () => {
    expect(() => redisTopology({ REDIS_URL: 'redis://x:1', REDIS_SENTINELS: 'a:1', REDIS_CLUSTER_NODES: 'b:2' })).toThrow(/exclude each other/);
    expect(() => redisTopology({ REDIS_URL: 'redis-cluster://seed:7000/3' })).toThrow(/only database 0/);
    expect(() => redisTopology({ REDIS_URL: 'http://x:1' })).toThrow(/unsupported scheme/);
  });

  it('the env schema validates the topology variables with the rest of the config', () => {
    const schema = z.object(commonEnv);
    expect(schema.parse({}).REDIS_SENTINEL_NAME).toBe('mymaster');
    expect(schema.safeParse({ REDIS_SENTINELS: 'nope' }).success).toBe(false);
    expect(schema.safeParse({ REDIS_CLUSTER_NODES: 'a:1,b:2', REDIS_URL: 'redis-cluster://a:1' }).success).toBe(true);
  });

  it('createRedis hands out an ioredis Cluster for a cluster topology (under the Redis type)', async () => {
    const client = createRedis({
      url: 'redis-cluster://127.0.0.1:1',
      name: 'unit-cluster',
      topology: { REDIS_URL: 'redis-cluster://127.0.0.1:1' },
      extra: { lazyConnect: true },
    });
    expect(isCluster(client)).toBe(true);
    client.disconnect();
    const single = createRedis({ url: 'redis://127.0.0.1:1', name: 'unit-single', topology: { REDIS_URL: 'redis://127.0.0.1:1' }, extra: { lazyConnect: true } });
    expect(isCluster(single)).toBe(false);
    single.disconnect();
  });

  it('writeTogether sends what it issues in one write, and uncorks even when it throws', async () => {
    const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const client = createRedis({ url, name: 'unit-together', topology: { REDIS_URL: url } });
    await client.ping();
    type Chunks = Array<{ chunk: unknown }>;
    const stream = client.stream as unknown as { _write(...a: unknown[]): void; _writev(chunks: Chunks, cb: unknown): void; writableCorked: number };
    const writes: string[] = [];
    const [write, writev] = [stream._write, stream._writev];
    stream._write = function (...a: unknown[]) {
      writes.push('write');
      return write.apply(this, a);
    };
    stream._writev = function (chunks: Chunks, cb: unknown) {
      writes.push(`writev of ${chunks.length}`);
      return writev.call(this, chunks, cb);
    };
    const replies = writeTogether(client, () => [client.echo('a'), client.echo('b'), client.echo('c')]);
    expect(writes).toEqual(['writev of 3']);
    expect(await Promise.all(replies)).toEqual(['a', 'b', 'c']);
    expect(() => writeTogether(client, () => { throw new Error('issue failed'); })).toThrow('issue failed');
    expect(stream.writableCorked).toBe(0);
    expect(await client.echo('after')).toBe('after');
    await closeRedis(client);
  });

  it('counts connection errors in af_redis_errors_total', async () => {
    const client = createRedis({ url: 'redis://127.0.0.1:1', name: 'unit-refused', topology: { REDIS_URL: 'redis://127.0.0.1:1' }, maxRetriesPerRequest: 0 });
    await client.ping().catch(() => undefined);
    await sleep(50);
    client.disconnect();
    const text = await metricsRegistry.getSingleMetricAsString('af_redis_errors_total');
    expect(text).toMatch(/af_redis_errors_total\{connection="unit-refused"\} [1-9]/);
  });
});

/** rediss:// against a real redis-server with TLS and a CA made here (skips if either tool is missing). */
const tlsMissing = ['openssl', 'redis-server'].filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
(tlsMissing.length ? describe.skip : describe)(`TLS (rediss://)${tlsMissing.length ? ` — skipped: ${tlsMissing.join(', ')} missing` : ''}`, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'af-tls-'));
  let server: ChildProcess | undefined;
  let port = 0;

  beforeAll(async () => {
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=af-test-ca');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'ext.cnf');
    port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    server = spawn(
      'redis-server',
      ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', 'server.crt', '--tls-key-file', 'server.key', '--tls-ca-cert-file', 'ca.crt', '--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no', '--requirepass', 'tls-secret'],
      { cwd: dir, stdio: 'ignore' },
    );
    await sleep(300);
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGKILL');
      await once(server, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects with rediss:// and a private CA (REDIS_TLS_CA_FILE), and refuses a server it cannot verify', async () => {
    const url = `rediss://:tls-secret@127.0.0.1:${port}`;
    const ok = createRedis({ url, name: 'unit-tls', topology: { REDIS_URL: url, REDIS_TLS_CA_FILE: path.join(dir, 'ca.crt') }, maxRetriesPerRequest: 1 });
    let pong = '';
    for (let i = 0; i < 40 && pong !== 'PONG'; i++) {
      pong = await ok.ping().catch(() => '');
      if (pong !== 'PONG') await sleep(100);
    }
    expect(pong).toBe('PONG');
    await closeRedis(ok);
    // Without the CA the certificate is not trusted: no connection.
    const untrusted = createRedis({ url, name: 'unit-tls-untrusted', topology: { REDIS_URL: url }, maxRetriesPerRequest: 0, extra: { retryStrategy: () => null } });
    await expect(untrusted.ping()).rejects.toThrow();
    untrusted.disconnect();
  });
});
