import { CONTROL_TRANSITIONS, type ControlAction, type PipelineStatus } from '@agent-forge/contracts';
import { EventReader } from '@agent-forge/state';
import { Stack, type RunningService } from './support/stack';

/**
 * Two gateway processes receive pause/resume/cancel for the same sessions concurrently. Every
 * accepted action must be a legal transition from the status it saw, and the recorded sequence of
 * statuses must replay through the transition table with no gap.
 */
const stack = new Stack('e2e-race');
let gateways: RunningService[];
beforeAll(async () => {
  gateways = await Promise.all([stack.start('gateway'), stack.start('gateway')]);
}, 30_000);
afterAll(() => stack.stopAll());

async function post(gw: RunningService, path: string, body: unknown) {
  const res = await fetch(gw.url + path, { method: 'POST', headers: stack.headers(true), body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

it('concurrent control requests on two gateways never produce an illegal state', async () => {
  const actions: ControlAction[] = ['pause', 'resume', 'pause', 'resume', 'cancel'];
  const reader = new EventReader(stack.redis.redis, stack.redis.keys);
  for (let round = 0; round < 5; round++) {
    const { body } = await post(gateways[0]!, '/api/v1/pipeline/start', { phases: ['cognate', 'bitnet'] });
    const id = body.session_id as string;
    // 60 requests, random actions, alternating gateways, all in flight together
    const requests = Array.from({ length: 60 }, (_, i) => {
      const action = actions[Math.floor(Math.random() * (i < 50 ? 4 : actions.length))]!;
      return post(gateways[i % 2]!, '/api/v1/pipeline/control', { action, session_id: id }).then((r) => ({ action, ...r }));
    });
    const results = await Promise.all(requests);
    for (const r of results) {
      expect([200, 400]).toContain(r.status);
      if (r.status === 400) expect(r.body.error_code).toBe('INVALID_STATE_TRANSITION');
    }
    // Replay the recorded control events through the transition table.
    const controlEvents = (await reader.readAfter(id)).filter(
      (e) => e.event_type === 'pipeline_progress' && typeof e.data.message === 'string' && /^(pause|resume|stop|cancel):/.test(e.data.message as string),
    );
    expect(controlEvents).toHaveLength(results.filter((r) => r.status === 200).length);
    let current: PipelineStatus = 'initializing';
    for (const e of controlEvents) {
      const action = (e.data.message as string).split(':')[0] as ControlAction;
      expect(CONTROL_TRANSITIONS[action].from).toContain(current);
      current = e.data.status as PipelineStatus;
      expect(current).toBe(CONTROL_TRANSITIONS[action].to);
    }
    const final = (await (await fetch(`${gateways[1]!.url}/api/v1/pipeline/status/${id}`, { headers: stack.headers() })).json()) as { status: string };
    expect(final.status).toBe(current);
  }
}, 60_000);
