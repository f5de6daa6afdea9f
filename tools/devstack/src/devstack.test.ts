import { mkdtempSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { DevstackError, ensureRedis, findOnPath, isLoopback, parseRedisUrl, probeRedis, redactUrl, type RedisProbe } from './redis';
import { showOnTerminal } from './services';
import { bar, formatLogLine } from './ui';

describe('redis helpers', () => {
  it('parses REDIS_URL', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380')).toEqual({ host: '127.0.0.1', port: 6380, username: null, password: null, tls: false });
    expect(parseRedisUrl('rediss://:s%40cret@localhost')).toEqual({ host: 'localhost', port: 6379, username: null, password: 's@cret', tls: true });
    expect(parseRedisUrl('redis://[::1]:7000/2').host).toBe('::1');
    expect(() => parseRedisUrl('http://x')).toThrow(DevstackError);
    expect(() => parseRedisUrl('nope')).toThrow(DevstackError);
  });

  it('masks passwords and knows loopback', () => {
    expect(redactUrl('redis://user:pw@127.0.0.1:6379')).toBe('redis://user:***@127.0.0.1:6379');
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('localhost')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('10.0.0.5')).toBe(false);
  });

  it.each([
    ['+PONG\r\n', 'up'],
    ['-NOAUTH Authentication required.\r\n', 'rejects'],
    ['HTTP/1.1 400 Bad Request\r\n\r\n', 'rejects'],
  ])('probes PING: a server answering %j is %s', async (answer, state) => {
    const server = net.createServer((socket) => socket.once('data', () => socket.write(answer)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as net.AddressInfo;
    try {
      expect((await probeRedis(`redis://127.0.0.1:${port}`)).state).toBe(state);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('probes PING: nothing listening is down, silence is down after the timeout', async () => {
    const silent = net.createServer((socket) => socket.resume()); // reads, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const { port } = silent.address() as net.AddressInfo;
    try {
      expect(await probeRedis(`redis://127.0.0.1:${port}`, 200)).toEqual({ state: 'down', reason: 'no answer within 200 ms' });
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
    expect((await probeRedis('redis://127.0.0.1:9')).state).toBe('down');
  });

  it('finds executables on PATH only', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'devstack-path-'));
    try {
      writeFileSync(path.join(dir, 'plain'), '');
      writeFileSync(path.join(dir, 'tool'), '#!/bin/sh\n');
      chmodSync(path.join(dir, 'tool'), 0o755);
      mkdirSync(path.join(dir, 'adir'));
      expect(findOnPath('tool', dir)).toBe(path.join(dir, 'tool'));
      expect(findOnPath('plain', dir)).toBeNull();
      expect(findOnPath('adir', dir)).toBeNull();
      expect(findOnPath('missing', dir)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('explains how to get Redis when none answers and redis-server is missing', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'devstack-root-'));
    const savedPath = process.env.PATH;
    process.env.PATH = root; // nothing executable here
    try {
      // A port nothing listens on (the discard port is never a Redis).
      const err = await ensureRedis({ root, url: 'redis://127.0.0.1:9', log: () => {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DevstackError);
      expect((err as Error).message).toMatch(/apt-get install redis-server/);
      expect((err as Error).message).toMatch(/brew install redis/);
      expect((err as Error).message).toMatch(/REDIS_URL/);
    } finally {
      process.env.PATH = savedPath;
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('does not try to start a Redis for a remote URL', async () => {
    // The probe is replaced: a test never sends anything beyond loopback.
    const probe = async (): Promise<RedisProbe> => ({ state: 'down', reason: 'ECONNREFUSED' });
    const err = await ensureRedis({ root: os.tmpdir(), url: 'redis://redis.example.com:6379', log: () => {}, probe }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DevstackError);
    expect((err as Error).message).toMatch(/not this machine/);
  });
});

describe('log lines', () => {
  it('formats pino JSON and keeps other lines', () => {
    const line = formatLogLine(
      JSON.stringify({ level: 40, time: '2026-01-02T03:04:05.678Z', pid: 1, hostname: 'h', service: 'gateway', msg: 'slow', ms: 12 }),
      false,
    );
    expect(line).toEqual({ level: 40, json: true, text: '03:04:05 WARN slow ms=12' });
    const access = formatLogLine(
      JSON.stringify({ level: 40, time: '2026-01-02T03:04:05.678Z', req: { id: 'r', method: 'GET', url: '/nope', headers: { a: 1 } }, res: { statusCode: 404, headers: {} }, responseTime: 2, msg: 'request completed' }),
      false,
    );
    expect(access.text).toBe('03:04:05 WARN request completed GET /nope → 404 (2 ms)');
    const failed = formatLogLine(JSON.stringify({ level: 50, msg: 'boom', err: { type: 'Error', message: 'bad', stack: 'Error: bad\n at x' } }), false);
    expect(failed.text).toBe('ERROR boom err=bad');
    expect(formatLogLine('TypeError: boom', true)).toEqual({ level: 50, json: false, text: 'TypeError: boom' });
    expect(formatLogLine('hello', false).level).toBe(30);
    expect(formatLogLine('{not json', false).json).toBe(false);
  });

  it('shows only warnings and errors in file mode', () => {
    expect(showOnTerminal('file', 30)).toBe(false);
    expect(showOnTerminal('file', 40)).toBe(true);
    expect(showOnTerminal('terminal', 30)).toBe(true);
  });

  it('draws bars within bounds', () => {
    expect(bar(50, 10)).toBe('█████░░░░░');
    expect(bar(150, 4)).toBe('████');
    expect(bar(Number.NaN, 4)).toBe('░░░░');
  });
});
