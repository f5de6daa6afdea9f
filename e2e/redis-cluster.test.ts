import { closeRedis, createRedis, isCluster, type Redis } from '@agent-forge/runtime';
import { Keys } from '@agent-forge/state';
import { pipelineEventIds } from './support/streams';
import { RedisProcs, cli, missingRedisBinaries, startCluster } from './support/redis-procs';
import { Stack, waitFor, type RunningService } from './support/stack';
import { WsCollector } from './support/ws-collector';

/**
 * The services on a real 3-master Redis Cluster (redis-server processes made by this test with
 * `redis-cli --cluster create`): every session script, MULTI and BullMQ script must stay in one
 * slot (no CROSSSLOT), pub/sub must reach the realtime replica whichever node it subscribed to.
 */
const missing = missingRedisBinaries();
if (missing) process.stderr.write(`redis-cluster e2e skipped: ${missing}\n`);
const suite = missing ? describe.skip : describe;

suite('on a 3-master Redis Cluster', () => {
  const procs = new RedisProcs();
  const stack = new Stack('e2e-cluster');
  let ports: number[] = [];
  let gateway: RunningService;
  let realtime: RunningService;
  let worker: RunningService;
  let cluster: Redis;
  const prefix = stack.redis.prefix;
  const keys = new Keys(prefix);

  beforeAll(async () => {
    ports = await startCluster(procs);
    const [a, b, c] = ports as [number, number, number];
    // Both ways of naming a cluster: the scheme with one seed, and the seed-node list.
    gateway = await stack.start('gateway', { REDIS_URL: `redis-cluster://127.0.0.1:${a}` });
    realtime = await stack.start('realtime', { REDIS_URL: `redis-cluster://127.0.0.1:${c}` });
    worker = await stack.start('pipeline-worker', {
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_CLUSTER_NODES: `127.0.0.1:${b},127.0.0.1:${c}`,
      // Phase-boundary checkpoints beyond the newest one are pruned (owner keys in other slots).
      CHECKPOINT_RETENTION: '1',
      // info: the per-job lines carry the request id of the call that caused the job.
      LOG_LEVEL: 'info',
    });
    cluster = createRedis({ url: `redis-cluster://127.0.0.1:${a}`, name: 'e2e-cluster-reader', topology: { REDIS_URL: `redis-cluster://127.0.0.1:${a}` } });
    expect(isCluster(cluster)).toBe(true);
  }, 60_000);

  afterAll(async () => {
    if (cluster) await closeRedis(cluster);
    await stack.stopAll();
    await procs.stop();
  }, 30_000);

  async function api<T = Record<string, any>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { ...stack.headers(body !== undefined), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  }
  const status = async (id: string) => (await api('GET', `/api/v1/pipeline/status/${id}`)).body;

  it('runs a 3-phase dry-run pipeline: completed, and the WebSocket saw every event of the stream in order', async () => {
    const phases = ['cognate', 'evomerge', 'quietstar'];
    const started = await api<{ session_id: string }>('POST', '/api/v1/pipeline/start', {
      phases,
      config: { executor: 'dry-run', dry_run: { steps: 4, step_ms: 30 } },
    }, { 'x-request-id': 'e2e-cluster-req-1' });
    expect(started.status).toBe(200);
    const id = started.body.session_id;
    const ws = await WsCollector.connect(`ws://127.0.0.1:${realtime.port}/ws/pipeline?session_id=${id}&token=${stack.token(['viewer'])}`);
    await waitFor(() => status(id), (s) => s.status === 'completed', 20_000, 'completed');
    const final = await status(id);
    expect(final).toMatchObject({ status: 'completed', total_progress_percent: 100, phases_completed: phases });

    // The pipeline channel carries some event types of the session's stream: compare with those.
    const stream = await cluster.xrange(keys.events(id), '-', '+');
    const streamIds = pipelineEventIds(stream);
    await ws.waitFor((m) => m.some((e) => e.event_id === streamIds[streamIds.length - 1]), 5_000, 'the last stream event');
    const seen = ws.messages.filter((m) => m.event_id && m.event_type !== 'snapshot').map((m) => m.event_id);
    // The snapshot-first subscription may start after the first events: what it saw is a suffix, in order, once each.
    expect(seen.length).toBeGreaterThanOrEqual(10);
    expect(seen).toEqual(streamIds.slice(streamIds.length - seen.length));
    expect(ws.ofType('phase_complete').map((e) => e.data.phase)).toEqual(phases);
    ws.close();
    // The request id of the start call reached the jobs of every phase and the worker's log lines.
    // (The last phase's line may follow the status flip by a moment: wait for it, bounded.)
    const linesOf = async () =>
      worker.output
        .join('')
        .split('\n')
        .filter((l) => l.startsWith('{') && l.endsWith('}') && l.includes(id))
        .map((l) => JSON.parse(l) as { requestId?: string; phase?: string });
    const jobLines = await waitFor(linesOf, (ls) => new Set(ls.map((l) => l.phase)).size === phases.length, 5_000, 'a log line of every phase');
    expect(jobLines.every((l) => l.requestId === 'e2e-cluster-req-1')).toBe(true);
    expect([...new Set(jobLines.map((l) => l.phase))].sort()).toEqual([...phases].sort());
    // A checkpoint at each of the 3 phase boundaries, all but the newest pruned.
    const checkpoints = await api<Array<{ checkpoint_id: string }>>('GET', `/api/v1/pipeline/checkpoints/${id}`);
    expect(checkpoints.body).toHaveLength(1);

    // The session and the queues really are on different slots (and the data on more than one node).
    const sessionSlot = Number(await cli(ports[0]!, ['CLUSTER', 'KEYSLOT', keys.session(id)]));
    const queueSlot = Number(await cli(ports[0]!, ['CLUSTER', 'KEYSLOT', `${keys.queuePrefix()}:phase-cognate:wait`]));
    expect(sessionSlot).not.toBe(queueSlot);
  }, 40_000);

  it('pause/resume, checkpoint save and load (MULTI and scripts on the session slot) work on the cluster', async () => {
    const started = await api<{ session_id: string }>('POST', '/api/v1/pipeline/start', {
      phases: ['cognate', 'evomerge'],
      // No phase-boundary checkpoints here: with CHECKPOINT_RETENTION=1 they would prune the saved one.
      enable_checkpoints: false,
      config: { dry_run: { steps: 10, step_ms: 60 } },
    });
    const id = started.body.session_id;
    await waitFor(() => status(id), (s) => s.status === 'running' && s.progress_percent > 0, 10_000, 'running');
    expect((await api('POST', '/api/v1/pipeline/control', { action: 'pause', session_id: id })).status).toBe(200);
    await waitFor(() => status(id), (s) => s.status === 'paused', 3_000, 'paused');
    const saved = await api<{ checkpoint_id: string }>('POST', '/api/v1/pipeline/checkpoint/save', { session_id: id, name: 'c1' });
    expect(saved.status).toBe(200);
    const list = await api<unknown[]>('GET', `/api/v1/pipeline/checkpoints/${id}`);
    expect(list.body.length).toBeGreaterThanOrEqual(1);
    expect((await api('POST', '/api/v1/pipeline/control', { action: 'resume', session_id: id })).status).toBe(200);
    await waitFor(() => status(id), (s) => s.status === 'completed', 20_000, 'completed after resume');
    // The checkpoint restores into the same (ended) session and runs again to completion.
    const loaded = await api<{ session_id: string }>('POST', `/api/v1/pipeline/checkpoint/load/${saved.body.checkpoint_id}`);
    expect(loaded.status).toBe(200);
    await waitFor(() => status(loaded.body.session_id), (s) => s.status === 'completed', 20_000, 'restored run completed');
    const history = await api<Array<{ session_id: string }>>('GET', '/api/v1/pipeline/history?limit=10');
    expect(history.body.map((h) => h.session_id)).toContain(id);
  }, 60_000);

  it('serves /metrics (queue gauges read from the cluster) and no service ever hit CROSSSLOT', async () => {
    const metrics = await (await fetch(`${worker.url}/metrics`)).text();
    expect(metrics).toMatch(/af_queue_jobs\{[^}]*phase="cognate"[^}]*state="waiting"[^}]*\} 0/);
    expect(metrics).toMatch(/af_queue_oldest_waiting_age_seconds\{[^}]*phase="cognate"/);
    expect(metrics).toMatch(/af_phase_duration_seconds_count\{[^}]*phase="cognate"/);
    const ready = await fetch(`${worker.url}/health/ready`);
    expect(ready.status).toBe(200);
    for (const svc of [gateway, realtime, worker]) expect(svc.output.join('')).not.toMatch(/CROSSSLOT|MOVED|slots allocation/);
  }, 15_000);
});
