import { setTimeout as sleep } from 'node:timers/promises';
import { RedisProcs, cli, missingRedisBinaries, sentinelMaster, startSentinelSet } from './support/redis-procs';
import { Stack, waitFor, type RunningService } from './support/stack';
import { WsCollector } from './support/ws-collector';

/**
 * The services behind Redis Sentinel (1 master, 1 replica, 3 sentinels; real redis-server
 * processes made by this test). A failover in the middle of a run: the services follow the
 * sentinels to the new master, the running pipeline finishes, and workers keep taking jobs.
 */
const missing = missingRedisBinaries();
if (missing) process.stderr.write(`redis-sentinel e2e skipped: ${missing}\n`);
const suite = missing ? describe.skip : describe;

suite('behind Redis Sentinel', () => {
  const procs = new RedisProcs();
  const stack = new Stack('e2e-sentinel');
  let set: { master: number; replica: number; sentinels: number[] };
  let gateway: RunningService;
  let realtime: RunningService;
  const workers: RunningService[] = [];

  beforeAll(async () => {
    set = await startSentinelSet(procs);
    const env = {
      // With sentinels the URL's host is not used: only credentials, db and TLS come from it.
      REDIS_URL: 'redis://mymaster',
      REDIS_SENTINELS: set.sentinels.map((p) => `127.0.0.1:${p}`).join(','),
      REDIS_SENTINEL_NAME: 'mymaster',
      WORKER_LOCK_MS: '3000',
      WORKER_STALLED_INTERVAL_MS: '2000',
    };
    [gateway, realtime] = await Promise.all([stack.start('gateway', env), stack.start('realtime', env)]);
    workers.push(await stack.start('pipeline-worker', env), await stack.start('pipeline-worker', env));
  }, 60_000);

  afterAll(async () => {
    await stack.stopAll();
    await procs.stop();
  }, 30_000);

  async function api<T = Record<string, any>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers: stack.headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  }
  /** Status, retried through the few hundred ms in which the gateway reconnects to the new master. */
  const status = async (id: string) => {
    const r = await api('GET', `/api/v1/pipeline/status/${id}`).catch(() => ({ status: 0, body: {} as Record<string, any> }));
    return r.status === 200 ? r.body : { status: `http ${r.status}` };
  };
  const start = async (steps: number) => {
    const r = await api<{ session_id: string }>('POST', '/api/v1/pipeline/start', {
      phases: ['cognate', 'evomerge', 'quietstar'],
      config: { dry_run: { steps, step_ms: 100 } },
    });
    expect(r.status).toBe(200);
    return r.body.session_id;
  };

  it('a failover mid-run: the running pipeline completes, new pipelines run, WS keeps delivering', async () => {
    expect(await sentinelMaster(set.sentinels[0]!)).toBe(set.master);
    const before = await start(12);
    const ws = await WsCollector.connect(`ws://127.0.0.1:${realtime.port}/ws/pipeline?session_id=${before}&token=${stack.token(['viewer'])}`);
    await waitFor(() => status(before), (s) => s.status === 'running' && s.progress_percent > 0, 10_000, 'running before the failover');

    expect(await cli(set.sentinels[0]!, ['SENTINEL', 'FAILOVER', 'mymaster'])).toBe('OK');
    await waitFor(() => sentinelMaster(set.sentinels[0]!), (port) => port === set.replica, 20_000, 'the replica promoted');
    // The old master now replicates from the new one (the sentinels reconfigured it).
    await waitFor(() => cli(set.master, ['ROLE']), (role) => role.startsWith('slave'), 20_000, 'old master demoted');

    await waitFor(() => status(before), (s) => s.status === 'completed', 30_000, 'the run in flight completed');
    await ws.waitFor((m) => m.some((e) => e.event_type === 'pipeline_progress' && e.data.status === 'completed'), 10_000, 'completion over WS');

    // Workers keep taking jobs: new pipelines, all on the new master.
    const after = await Promise.all([start(3), start(3), start(3)]);
    for (const id of after) await waitFor(() => status(id), (s) => s.status === 'completed', 20_000, `${id} completed after the failover`);
    expect(Number(await cli(set.replica, ['EXISTS', `${stack.redis.prefix}:{s:${after[0]}}:session`]))).toBe(1);
    for (const w of workers) expect((await fetch(`${w.url}/health/ready`)).status).toBe(200);
    expect((await fetch(`${realtime.url}/ready`)).status).toBe(200);
    ws.close();
    await sleep(0);
  }, 90_000);
});
