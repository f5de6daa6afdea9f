import request from 'supertest';
import { createTestGateway } from './test-support';

/** /metrics (route templates, control latency) and the QUEUE_DASHBOARD switch. */
const gw = createTestGateway('gw-obs');
afterAll(() => gw.close());
const P = '/api/v1/pipeline';

describe('GET /metrics', () => {
  it('reports latency by route template (never the raw path), control latency by action, in Prometheus text', async () => {
    const started = await request(gw.app).post(`${P}/start`).send({ phases: ['cognate'] }).expect(200);
    const id = started.body.session_id as string;
    await request(gw.app).get(`${P}/status/${id}`).expect(200);
    await request(gw.app).get(`${P}/status/unknown-session`).expect(404);
    await request(gw.app).post(`${P}/control`).send({ action: 'pause', session_id: id }).expect(200);
    await request(gw.app).post(`${P}/control`).send({ action: 'resume', session_id: 'nope' }).expect(404);
    await request(gw.app).get('/no/such/route').expect(404);

    const res = await request(gw.app).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.text;
    expect(text).toMatch(/af_http_request_duration_seconds_count\{[^}]*route="\/api\/v1\/pipeline\/status\/:session_id"[^}]*status="200"[^}]*\} 1/);
    expect(text).toMatch(/af_http_request_duration_seconds_count\{[^}]*route="\/api\/v1\/pipeline\/status\/:session_id"[^}]*status="404"[^}]*\} 1/);
    expect(text).not.toContain(id); // no session id ever becomes a label
    expect(text).toMatch(/af_http_request_duration_seconds_count\{[^}]*route="unmatched"/);
    expect(text).toMatch(/af_control_latency_seconds_count\{action="pause",outcome="ok"\} 1/);
    expect(text).toMatch(/af_control_latency_seconds_count\{action="resume",outcome="refused"\} 1/);
    expect(text).not.toMatch(/route="\/metrics"/); // scrapes are not measured
  });
});

describe('QUEUE_DASHBOARD', () => {
  it('is off by default: /admin/queues is not there', async () => {
    await request(gw.app).get('/admin/queues').expect(404);
  });

  it('on: a read-only bull-board over the eight phase queues', async () => {
    const app = gw.makeApp({ QUEUE_DASHBOARD: 'on' });
    const page = await request(app).get('/admin/queues').expect(200);
    expect(page.text).toMatch(/<div id="root">|__UI_CONFIG__/);
    const api = await request(app).get('/admin/queues/api/queues').expect(200);
    const queues = api.body.queues as Array<{ name: string; readOnlyMode: boolean }>;
    expect(queues.map((q) => q.name).sort()).toEqual(
      ['adas', 'baking', 'bitnet', 'cognate', 'compression', 'evomerge', 'quietstar', 'training'].map((p) => `phase-${p}`).sort(),
    );
    expect(queues.every((q) => q.readOnlyMode)).toBe(true);
  });
});
