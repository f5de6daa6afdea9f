import { registerRealtimeGauges } from './metrics';
import { Harness, eventually } from './test-support';

/** /metrics of the realtime service: connection gauges by channel, drops by close code, rate-limited frames. */
const h = new Harness('rt-metrics', { WS_MAX_FRAMES_PER_SECOND: 5 });
afterAll(() => h.cleanup());

const value = (text: string, name: string, labels: RegExp = /.*/): number => {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.e+-]+)$`).exec(line);
    if (m && labels.test(m[1] ?? '')) sum += Number(m[2]);
  }
  return sum;
};

it('counts open sockets by channel, sockets it closed (4429) and frames it refused', async () => {
  const server = await h.startServer();
  registerRealtimeGauges(server.realtime);
  const metrics = async () => (await fetch(`${server.http}/metrics`)).text();

  const a = await h.open(server.ws, '/ws/pipeline');
  await h.open(server.ws, '/ws/pipeline');
  await h.open(server.ws, '/ws/dashboard');
  await eventually(async () => value(await metrics(), 'af_ws_connections', /channel="pipeline"/) === 2, 3_000, 'two pipeline sockets');
  const text = await metrics();
  expect(value(text, 'af_ws_connections', /channel="dashboard"/)).toBe(1);
  expect(value(text, 'af_realtime_ready')).toBe(1);

  // Past twice the per-second frame budget the socket is closed with 4429; frames past it are refused.
  for (let i = 0; i < 12; i++) a.send(JSON.stringify({ type: 'ping' }));
  expect((await a.closed).code).toBe(4429);
  await eventually(async () => value(await metrics(), 'af_ws_connections', /channel="pipeline"/) === 1, 3_000, 'the closed socket gone');
  const after = await metrics();
  expect(value(after, 'af_ws_dropped_connections_total', /code="4429"/)).toBe(1);
  expect(value(after, 'af_ws_inbound_frames_dropped_total')).toBeGreaterThanOrEqual(1);
});
