import { setTimeout as sleep } from 'node:timers/promises';
import { Stack, waitFor, type RunningService } from './support/stack';
import { WsCollector } from './support/ws-collector';

/**
 * The walking skeleton end to end: the three services as real processes on one Redis, a pipeline
 * started over REST, run by the worker through BullMQ, watched over WebSocket.
 */
const stack = new Stack('e2e-pipeline');
let gateway: RunningService;
let realtime: RunningService;

async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers: stack.headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}
const status = async (id: string) => (await api<Record<string, any>>('GET', `/api/v1/pipeline/status/${id}`)).body;

beforeAll(async () => {
  [gateway, realtime] = await Promise.all([stack.start('gateway'), stack.start('realtime')]);
}, 30_000);
afterAll(() => stack.stopAll());

describe('a pipeline end to end', () => {
  it('runs 3 dry-run phases: ordered progress over WS, one phase_complete per phase, completed at 100 %, listed in history', async () => {
    const phases = ['cognate', 'evomerge', 'quietstar'];
    const started = await api<{ session_id: string; status: string }>('POST', '/api/v1/pipeline/start', {
      phases,
      config: { executor: 'dry-run', dry_run: { steps: 5, step_ms: 40 } },
    });
    expect(started).toMatchObject({ status: 200, body: { status: 'started' } });
    const id = started.body.session_id;
    // Subscribe before any worker exists, so the test sees the whole run.
    const ws = await WsCollector.connect(`ws://127.0.0.1:${realtime.port}/ws/pipeline?session_id=${id}&token=${stack.token(['viewer'])}`);
    const before = await status(id);
    expect(before).toMatchObject({ status: 'initializing', current_phase: 'cognate' });
    const worker = await stack.start('pipeline-worker');

    await ws.waitFor((m) => m.some((e) => e.event_type === 'pipeline_progress' && e.data.status === 'completed'), 20_000, 'completion');
    const final = await status(id);
    expect(final).toMatchObject({ status: 'completed', total_progress_percent: 100, progress_percent: 100, phases, phases_remaining: [] });
    expect(final.phases_completed).toEqual(phases);

    expect(ws.messages.every((m) => m.session_id === id)).toBe(true);
    expect(ws.ofType('phase_complete').map((e) => e.data.phase)).toEqual(phases);
    const totals = ws.ofType('pipeline_progress').map((e) => e.data.total_progress_percent as number);
    expect(totals.length).toBeGreaterThanOrEqual(15);
    expect([...totals].sort((a, b) => a - b)).toEqual(totals);
    const ids = ws.messages.map((e) => e.event_id);
    expect(new Set(ids).size).toBe(ids.length); // each event once

    const history = await api<Array<Record<string, unknown>>>('GET', '/api/v1/pipeline/history?limit=5');
    expect(history.body[0]).toMatchObject({ session_id: id, status: 'completed', success: true, phases });
    ws.close();
    await worker.stop();
  }, 40_000);

  describe('with a worker running', () => {
    let worker: RunningService;
    beforeAll(async () => {
      worker = await stack.start('pipeline-worker');
    }, 30_000);
    afterAll(() => worker.stop());

    it('pause stops progress events until resume, then the run completes', async () => {
      const { body } = await api<{ session_id: string }>('POST', '/api/v1/pipeline/start', {
        phases: ['cognate', 'evomerge'],
        config: { dry_run: { steps: 10, step_ms: 50 } },
      });
      const id = body.session_id;
      const ws = await WsCollector.connect(`ws://127.0.0.1:${realtime.port}/ws/pipeline?session_id=${id}&token=${stack.token(['viewer'])}`);
      await ws.waitFor((m) => m.filter((e) => e.event_type === 'pipeline_progress' && (e.data.progress_percent as number) > 0).length >= 2, 10_000, 'progress');
      expect((await api('POST', '/api/v1/pipeline/control', { action: 'pause', session_id: id })).status).toBe(200);
      await waitFor(() => status(id), (s) => s.status === 'paused', 2_000, 'paused');
      await sleep(150); // a step in flight when the pause landed may still report
      const seen = ws.messages.length;
      await sleep(700);
      const whilePaused = ws.messages.slice(seen).filter((e) => e.event_type === 'pipeline_progress');
      expect(whilePaused).toEqual([]);
      const pausedAt = (await status(id)).total_progress_percent as number;

      expect((await api('POST', '/api/v1/pipeline/control', { action: 'resume', session_id: id })).status).toBe(200);
      await waitFor(() => status(id), (s) => s.status === 'completed', 15_000, 'completed after resume');
      const after = ws.ofType('pipeline_progress').map((e) => e.data.total_progress_percent as number);
      expect(Math.max(...after)).toBe(100);
      expect(pausedAt).toBeGreaterThan(0);
      ws.close();
    }, 30_000);

    it('cancel ends a running session cancelled within 1 s and the worker stops the phase', async () => {
      const { body } = await api<{ session_id: string }>('POST', '/api/v1/pipeline/start', {
        phases: ['cognate'],
        config: { dry_run: { steps: 4, step_ms: 3_000 } },
      });
      const id = body.session_id;
      await waitFor(() => status(id), (s) => s.status === 'running', 5_000, 'running');
      const t0 = Date.now();
      const res = await api('POST', '/api/v1/pipeline/control', { action: 'cancel', session_id: id });
      expect(res).toMatchObject({ status: 200, body: { status: 'success', action: 'cancel', session_id: id } });
      await waitFor(() => status(id), (s) => s.status === 'cancelled', 1_000, 'cancelled');
      // the worker hears the cancel and stops the agent well before the 3 s step would end
      await waitFor(() => api<Record<string, any>>('GET', `/api/v1/pipeline/swarm/${id}`), (r) => r.body.active_agents === 0, 1_000, 'agents stopped');
      expect(Date.now() - t0).toBeLessThan(1_000);
    }, 20_000);
  });
});
