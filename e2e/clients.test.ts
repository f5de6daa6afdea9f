import {
  CheckpointLoadResponse,
  CheckpointResponse,
  ConfigPresetResponse,
  ControlResponse,
  ExecutionHistory,
  HealthResponse,
  InfoResponse,
  QualityGateResponse,
  StartPipelineResponse,
  StatusResponse,
  SwarmStatus,
  WsStatsResponse,
} from '@agent-forge/contracts';
import {
  ForbiddenError,
  InvalidStateTransitionError,
  NetworkError,
  NotFoundError,
  ValidationError,
  compareEventIds,
  createNodeClient,
  type AgentForgeClient,
  type LiveEvent,
  type SessionView,
} from '@agent-forge/sdk/node';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../packages/cli/src/cli';
import { freePort, waitFor } from './support/stack';
import { dryRun, startUxStack, type UxStack } from './support/ux-stack';

/**
 * The clients against one real stack (gateway, realtime, dry-run worker behind the entry proxy, as
 * `npm start` serves them):
 * - the SDK: every REST method answers the contract's shape, errors are typed, the live channel
 *   resumes across reconnects without a gap or a duplicate, `follow` ends with the final status;
 * - the `agent-forge` CLI: exit codes 0/1/2/3 (the built bin as a child process), `--json` shapes,
 *   live progress then a summary;
 * - the dashboard in Debian's Chromium (playwright-core): start a pipeline from the page, pause and
 *   resume it there, watch it reach 100 %, save a checkpoint, no script error or CSP violation. It
 *   is skipped, saying so, where /usr/bin/chromium is missing (.ci/run installs it). Screenshot:
 *   .agent-forge/test-artifacts/dashboard.png, and DASHBOARD_SCREENSHOT when set
 *   (`DASHBOARD_SCREENSHOT=docs/dashboard.png DASHBOARD_EXECUTOR=forge npm test -- e2e/clients -t dashboard`
 *   refreshes the README's picture with the forge's real curves).
 */
let ux: UxStack;
let client: AgentForgeClient;

const FORGE = process.env.DASHBOARD_EXECUTOR === 'forge';

beforeAll(async () => {
  // Every pipeline of the SDK and CLI cases names its executor (dry-run); the dashboard's may use the forge.
  ux = await startUxStack('e2e-clients', FORGE ? { DEFAULT_EXECUTOR: 'forge' } : {});
  client = createNodeClient({ baseUrl: ux.entryUrl, token: ux.token });
}, 40_000);
afterAll(() => ux?.close());

type Schema<T> = { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: unknown[] } } };
const expectShape = <T>(schema: Schema<T>, value: unknown): T => {
  const r = schema.safeParse(value);
  if (!r.success) expect(r.error.issues).toEqual([]);
  return (r as { data: T }).data;
};

describe('REST: every endpoint through the SDK', () => {
  it('start, status, swarm, control, gates, checkpoints, history, presets, health, info, openapi, ws stats', async () => {
    const started = expectShape(StartPipelineResponse, await client.start({ phases: ['cognate', 'evomerge'], config: dryRun(40, 50), max_agents: 5 }));
    const id = started.session_id;
    expectShape(StatusResponse, await client.status(id));
    expect(expectShape(SwarmStatus, await client.swarm(id)).max_agents).toBe(5);
    await waitFor(() => client.status(id), (s) => s.status === 'running', 10_000, 'running');

    expect(expectShape(ControlResponse, await client.pause(id)).pipeline_status).toBe('paused');
    await expect(client.pause(id)).rejects.toBeInstanceOf(InvalidStateTransitionError);
    const cp = expectShape(CheckpointResponse, await client.saveCheckpoint({ session_id: id, checkpoint_name: 'sdk-test' }));
    expect(cp.checkpoint_name).toBe('sdk-test');
    expect(expectShape(CheckpointResponse.array(), await client.checkpoints(id)).map((c) => c.checkpoint_id)).toContain(cp.checkpoint_id);
    expect(expectShape(ControlResponse, await client.resume(id)).pipeline_status).toBe('running');
    expectShape(QualityGateResponse, await client.qualityGates(id, { phase: 'cognate' }));
    expect(expectShape(ControlResponse, await client.cancel(id, { force: true })).pipeline_status).toBe('cancelled');

    // the session ended: the checkpoint restores into the same id and continues
    const loaded = expectShape(CheckpointLoadResponse, await client.loadCheckpoint(cp.checkpoint_id));
    expect(loaded.session_id).toBe(id);
    await client.cancel(id);

    const history = expectShape(ExecutionHistory.array(), await client.history({ limit: 5, status: 'cancelled' }));
    expect(history.map((h) => h.session_id)).toContain(id);
    expect(await client.presets()).toEqual(expect.arrayContaining(['quick_test', 'full_pipeline', 'compression_only']));
    expect(expectShape(ConfigPresetResponse, await client.preset('quick_test')).builtin).toBe(true);
    const saved = expectShape(ConfigPresetResponse, await client.savePreset('sdk_e2e', { phases: ['bitnet'], config: dryRun(2, 10) }));
    expect(saved).toMatchObject({ preset_name: 'sdk_e2e', builtin: false });
    expectShape(HealthResponse, await client.health());
    expectShape(InfoResponse, await client.info());
    expect((await client.openApi()).openapi).toBe('3.1.0');
    expectShape(WsStatsResponse, await client.wsStats());
  }, 30_000);

  it('throws typed errors carrying error_code, status and details', async () => {
    const nf = await client.status('no-such-session').catch((e: unknown) => e);
    expect(nf).toBeInstanceOf(NotFoundError);
    expect(nf).toMatchObject({ status: 404, error_code: 'SESSION_NOT_FOUND', details: { session_id: 'no-such-session' } });
    const bad = await client.start({ phases: [] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad).toMatchObject({ status: 422, error_code: 'VALIDATION_ERROR' });
    expect((bad as ValidationError).details).toHaveProperty('phases');
    await expect(client.preset('nope')).rejects.toMatchObject({ error_code: 'PRESET_NOT_FOUND', status: 404 });
    await expect(client.loadCheckpoint('nope')).rejects.toMatchObject({ error_code: 'CHECKPOINT_NOT_FOUND' });
    const down = createNodeClient({ baseUrl: 'http://127.0.0.1:1', retries: 0 });
    await expect(down.health()).rejects.toBeInstanceOf(NetworkError);
  });
});

describe('a viewer token (read-only role), end to end', () => {
  it('the SDK reads every view of a run and is refused (typed 403) every change; the live channel is open to it', async () => {
    const viewer = createNodeClient({ baseUrl: ux.entryUrl, token: ux.stack.token(['viewer']) });
    const { session_id: id } = await client.start({ phases: ['cognate'], config: dryRun(40, 50) });
    await waitFor(() => viewer.status(id), (s) => s.status === 'running', 10_000, 'running (seen by the viewer)');
    expectShape(SwarmStatus, await viewer.swarm(id));
    expectShape(CheckpointResponse.array(), await viewer.checkpoints(id));
    expectShape(ExecutionHistory.array(), await viewer.history({ limit: 5 }));
    expect((await viewer.presets()).length).toBeGreaterThan(0);

    const refused = await Promise.allSettled([
      viewer.control(id, 'cancel'),
      viewer.start({ phases: ['cognate'], config: dryRun(2, 1) }),
      viewer.saveCheckpoint({ session_id: id, checkpoint_name: 'not-allowed' }),
      viewer.qualityGates(id),
    ]);
    for (const r of refused) {
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason as ForbiddenError;
      expect(err).toBeInstanceOf(ForbiddenError);
      expect(err.error_code).toBe('FORBIDDEN');
    }
    // Nothing the viewer tried happened: the run goes on and ends on its own.
    const live = viewer.live('pipeline', { sessionId: id });
    const seen: string[] = [];
    live.on('event', (e: LiveEvent) => seen.push(e.event_type));
    const final = await waitFor(() => viewer.status(id), (s) => s.status === 'completed', 20_000, 'completed');
    live.close();
    expect(final.status).toBe('completed');
    expect((await viewer.checkpoints(id)).map((c) => c.checkpoint_name)).not.toContain('not-allowed');
    expect(seen.length).toBeGreaterThan(0);
  }, 40_000);
});

describe('live channels', () => {
  it('resumes with last_event_id across reconnects: the same events as an uninterrupted socket, none twice', async () => {
    const { session_id: id } = await client.start({ phases: ['cognate', 'evomerge'], config: dryRun(25, 40) });
    const collect = (opts: { lastEventId?: string }) => {
      const events: LiveEvent[] = [];
      const live = client.live('pipeline', { sessionId: id, ...opts });
      live.on('event', (e) => events.push(e));
      return { live, events };
    };
    const steady = collect({ lastEventId: '0-0' });
    const flaky = collect({ lastEventId: '0-0' });
    const snapshots: unknown[] = [];
    flaky.live.on('snapshot', (s) => snapshots.push(s));
    // Drop the flaky socket three times mid-run.
    for (let i = 0; i < 3; i++) {
      await waitFor(async () => flaky.events.length, (n) => n >= (i + 1) * 8, 15_000, `events before drop ${i}`);
      flaky.live.reconnectNow();
    }
    await waitFor(async () => steady.events.some((e) => e.event_type === 'pipeline_progress' && e.data.status === 'completed'), Boolean, 20_000, 'completed');
    await waitFor(async () => flaky.events.length, (n) => n >= steady.events.length, 5_000, 'flaky caught up');
    steady.live.close();
    flaky.live.close();
    const ids = (es: LiveEvent[]) => es.map((e) => e.event_id as string);
    expect(flaky.live.reconnects).toBeGreaterThanOrEqual(3);
    expect(ids(flaky.events)).toEqual(ids(steady.events));
    const sorted = [...ids(flaky.events)].sort(compareEventIds);
    expect(ids(flaky.events)).toEqual(sorted);
    expect(new Set(ids(flaky.events)).size).toBe(flaky.events.length);
    expect(snapshots).toEqual([]); // resumed, never restarted from a snapshot
  }, 30_000);

  it('on HISTORY_GAP (an epoch that is not the stream’s) reports the gap and restarts from a snapshot', async () => {
    const { session_id: id } = await client.start({ phases: ['cognate'], config: dryRun(3, 20) });
    await waitFor(() => client.status(id), (s) => s.status === 'completed', 10_000, 'completed');
    const live = client.live('pipeline', { sessionId: id, lastEventId: '1-0', epoch: '1' });
    const gaps: string[] = [];
    let snapshot: unknown = null;
    live.on('gap', (why) => gaps.push(why));
    live.on('snapshot', (s) => (snapshot = s));
    await waitFor(async () => snapshot, Boolean, 5_000, 'snapshot');
    live.close();
    expect(gaps).toEqual(['history_gap']);
    expect(expectShape(StatusResponse, snapshot).status).toBe('completed');
    expect(live.lastEventId).not.toBe('1-0');
  });

  it('follow() folds the run into a SessionView and resolves with the final status', async () => {
    const { session_id: id } = await client.start({ phases: ['cognate', 'evomerge'], config: dryRun(8, 40) });
    const views: Pick<SessionView, 'total_progress_percent' | 'status'>[] = [];
    const final = await client.follow(id, { onUpdate: (v) => views.push({ total_progress_percent: v.total_progress_percent, status: v.status }), timeoutMs: 20_000 });
    expect(final).toMatchObject({ session_id: id, status: 'completed', total_progress_percent: 100 });
    const progress = views.map((v) => v.total_progress_percent);
    expect(progress).toEqual([...progress].sort((a, b) => a - b)); // never backwards
    expect(progress.some((p) => p > 0 && p < 100)).toBe(true); // saw it in between
  }, 25_000);
});

// ---- CLI ------------------------------------------------------------------------------------

const BIN = path.resolve(__dirname, '..', 'packages', 'cli', 'dist', 'bin.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'af-cli-'));
function file(name: string, content: string): string {
  const f = path.join(tmp, name);
  writeFileSync(f, content);
  return f;
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}
/** Run the built CLI (no TTY: milestone lines instead of redrawn bars). */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      // cwd: a temp dir, so no .agent-forge/ of the repo is picked up
      { cwd: tmp, timeout: 40_000, env: { PATH: process.env.PATH ?? '', HOME: tmp, AGENT_FORGE_URL: ux.entryUrl, NO_COLOR: '1', ...(ux.token ? { AGENT_FORGE_TOKEN: ux.token } : {}), ...env } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}
const jsonOf = (r: CliResult): unknown => JSON.parse(r.stdout);

/**
 * The same CLI in this process (runCli is everything bin.js does but set the exit code): most
 * cases run here, which spares a Node start-up each; the exit codes of the real bin are checked
 * by the `cli()` cases.
 */
async function run(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) => ({ write: (chunk: string | Uint8Array) => (append(String(chunk)), true), isTTY: false }) as unknown as NodeJS.WriteStream;
  const code = await runCli(args, {
    stdout: sink((t) => (stdout += t)),
    stderr: sink((t) => (stderr += t)),
    env: { AGENT_FORGE_URL: ux.entryUrl, NO_COLOR: '1', ...(ux.token ? { AGENT_FORGE_TOKEN: ux.token } : {}), ...env },
    cwd: tmp,
  });
  return { code, stdout, stderr };
}

describe('agent-forge CLI', () => {
  it('start --follow: live milestones, then a summary table; exit 0 when completed', async () => {
    const cfg = file('pipeline.yaml', 'executor: dry-run\ndry_run:\n  steps: 8\n  step_ms: 40\n');
    const r = await cli(['start', 'cognate', 'evomerge', '--config', cfg, '--follow']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Started session [0-9a-f-]{36}/);
    expect(r.stdout).toMatch(/cognate +50% +total \d+% · ETA/);
    expect(r.stdout).toMatch(/evomerge +done in /);
    expect(r.stdout).toMatch(/: completed · 100% · /);
    expect(r.stdout).toMatch(/phase +status +progress +duration +metrics/);
    expect(r.stdout).toMatch(/evomerge +completed +100% /);
  }, 30_000);

  it('--json: start --follow prints the final StatusResponse; status, history, presets, gates, checkpoint print API shapes', async () => {
    const req = file('request.json', JSON.stringify({ phases: ['cognate'], config: dryRun(4, 20), max_agents: 3 }));
    const r = await run(['start', '--config', req, '--follow', '--json']);
    expect(r.code).toBe(0);
    const final = expectShape(StatusResponse, jsonOf(r));
    expect(final.status).toBe('completed');
    const id = final.session_id;
    const [status, history, presets, gates, cpRun, started] = await Promise.all([
      run(['status', id, '--json']),
      run(['history', '--limit', '3', '--status', 'completed', '--json']),
      run(['presets', '--json']),
      run(['gates', id, '--phase', 'cognate', '--json']),
      run(['checkpoint', 'save', id, '--name', 'cli', '--json']),
      run(['start', '--preset', 'quick_test', '--executor', 'dry-run', '--json']),
    ]);
    expect(expectShape(StatusResponse, jsonOf(status)).session_id).toBe(id);
    expect(expectShape(ExecutionHistory.array(), jsonOf(history)).map((h) => h.session_id)).toContain(id);
    expect(expectShape(ConfigPresetResponse.array(), jsonOf(presets)).map((p) => p.preset_name)).toContain('quick_test');
    expect(expectShape(QualityGateResponse, jsonOf(gates)).phase).toBe('cognate');
    expect(expectShape(StartPipelineResponse, jsonOf(started)).status).toBe('started');
    const cp = expectShape(CheckpointResponse, jsonOf(cpRun));
    const [list, load] = await Promise.all([run(['checkpoint', 'list', id, '--json']), run(['checkpoint', 'load', cp.checkpoint_id, '--json'])]);
    expect(expectShape(CheckpointResponse.array(), jsonOf(list)).map((c) => c.checkpoint_id)).toContain(cp.checkpoint_id);
    expectShape(CheckpointLoadResponse, jsonOf(load));
  }, 40_000);

  it('pause, resume and cancel from the CLI; following a cancelled run exits 3', async () => {
    const slow = file('slow.json', JSON.stringify(dryRun(100, 100)));
    const started = expectShape(StartPipelineResponse, jsonOf(await run(['start', 'cognate', 'evomerge', '--config', slow, '--json'])));
    const id = started.session_id;
    await waitFor(() => client.status(id), (s) => s.status === 'running', 10_000, 'running');
    expect(expectShape(ControlResponse, jsonOf(await run(['pause', id, '--json']))).pipeline_status).toBe('paused');
    const paused = await run(['status', id]);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(/: paused · /);
    const again = await run(['pause', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/INVALID_STATE_TRANSITION: cannot pause a session that is paused/);
    expect((await run(['resume', id])).stdout).toMatch(/resume: session .* is now running/);
    expect((await run(['cancel', id, '--force'])).code).toBe(0);
    const followed = await cli(['follow', id]);
    expect(followed.code).toBe(3);
    expect(followed.stdout).toMatch(/: cancelled · /);
    expect((await run(['status', id])).code).toBe(3);
  }, 30_000);

  it('with a viewer token: status, history and presets work; start and control are refused (exit 1, FORBIDDEN)', async () => {
    const viewer = { AGENT_FORGE_TOKEN: ux.stack.token(['viewer']) };
    const { session_id: id } = await client.start({ phases: ['cognate'], config: dryRun(200, 50) });
    const [status, history, presets, pause, start] = await Promise.all([
      run(['status', id], viewer),
      run(['history', '--json'], viewer),
      run(['presets', '--json'], viewer),
      run(['pause', id], viewer),
      run(['start', 'cognate', '--config', file('viewer-start.json', JSON.stringify(dryRun(2, 1)))], viewer),
    ]);
    expect([status.code, history.code, presets.code]).toEqual([0, 0, 0]);
    expect(status.stdout).toContain(id);
    expect([pause.code, start.code]).toEqual([1, 1]);
    expect(pause.stderr).toMatch(/FORBIDDEN/);
    expect(start.stderr).toMatch(/FORBIDDEN/);
    expect((await client.status(id)).status).toBe('running');
    await client.control(id, 'cancel', { force: true });
  }, 30_000);

  it('a failed run exits 1', async () => {
    // A phase that overruns its time budget fails (one attempt in this stack).
    const cfg = file('failing.json', JSON.stringify({ ...dryRun(50, 40), cognate: { timeout_seconds: 0.3 } }));
    const r = await cli(['start', 'cognate', '--config', cfg, '--follow', '--json']);
    expect(r.code).toBe(1);
    expect(expectShape(StatusResponse, jsonOf(r)).status).toBe('failed');
  }, 30_000);

  it('bad usage exits 2, locally or as a 422 from the server; errors name the problem', async () => {
    const usage = await Promise.all([
      cli(['start', 'alchemy']), // the real bin's exit code
      run(['start']),
      run(['start', 'cognate', '--max-agents', '500']),
      run(['status']),
      run(['no-such-command']),
      run(['history', '--status', 'sleeping']),
      run(['start', 'cognate', '--config', file('broken.json', '{nope')]),
    ]);
    expect(usage.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect(usage[0]!.stderr).toMatch(/unknown phase "alchemy"/);
    expect(usage[6]!.stderr).toMatch(/broken.json is not valid JSON/);
    const closedPort = await freePort();
    const [server, missing, down] = await Promise.all([
      run(['start', 'training', '--config', file('bad-config.json', JSON.stringify({ training: { batch_size: -1 } })), '--json']),
      run(['status', 'no-such-session']),
      run(['health'], { AGENT_FORGE_URL: `http://127.0.0.1:${closedPort}` }),
    ]);
    expect(server.code).toBe(2);
    expect(JSON.parse(server.stderr)).toMatchObject({ error_code: 'VALIDATION_ERROR', status: 422, details: { 'config.training.batch_size': expect.any(String) } });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/SESSION_NOT_FOUND/);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/is the stack running/);
  }, 30_000);
});

// ---- dashboard ------------------------------------------------------------------------------

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ROOT = path.resolve(__dirname, '..');

if (!HAVE_CHROMIUM) {
  // eslint-disable-next-line no-console
  console.warn(`e2e/clients.test.ts: the dashboard browser test is SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH); .ci/run installs it.`);
}
const describeBrowser = HAVE_CHROMIUM ? describe : describe.skip;

/** Poll the page's total progress from here (waitForFunction would eval in the page: the CSP forbids it). */
async function waitForProgress(page: Page, atLeast: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = (await page.getByTestId('total-progress').textContent()) ?? '';
    if (Number(text.replace('%', '')) >= atLeast) return;
    if (Date.now() > deadline) throw new Error(`total progress stayed at ${text}, expected ≥ ${atLeast}%`);
    await page.waitForTimeout(100);
  }
}

describeBrowser(`dashboard in Chromium (${CHROMIUM})`, () => {
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  const problems: string[] = [];

  beforeAll(async () => {
    userDataDir = mkdtempSync(path.join(os.tmpdir(), 'af-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1280, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    // Script errors and CSP violations (reported as console errors) fail the test.
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()} ${msg.location().url}`);
    });
    page.on('response', (res) => {
      if (res.status() >= 400) problems.push(`HTTP ${res.status()} ${res.url()}`);
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('starts a pipeline from the page, pauses and resumes it there, and shows it reach 100 %', async () => {
    const requests: { url: string; auth: string | undefined }[] = [];
    page.on('request', (req) => requests.push({ url: req.url(), auth: req.headers().authorization }));
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));

    await page.goto(`${ux.entryUrl}/dashboard`);
    await page.getByTestId('start-button').waitFor();

    // A token typed into the header field is kept in localStorage and sent with every call and
    // socket (with auth on, as here, it is the stack's own; the live socket needs it to open).
    const token = ux.token ?? 'dashboard-test-token';
    await page.getByTestId('token-input').fill(token);
    await page.getByRole('button', { name: 'Save' }).click();
    // (page code as strings: this file is type-checked without the DOM library)
    expect(await page.evaluate("localStorage.getItem('agent-forge.token')")).toBe(token);
    await page.reload();
    await page.getByTestId('start-button').waitFor();
    await page.locator('#live.live-open').waitFor();
    const sinceToken = requests.length;
    const problemsBefore = problems.length; // with auth on, the calls made before the token was given are 401s

    await page.getByTestId('phase-cognate').check();
    await page.getByTestId('phase-evomerge').check();
    await page.getByTestId('config-input').fill(JSON.stringify(FORGE ? { executor: 'forge' } : { executor: 'dry-run', dry_run: { steps: 30, step_ms: 80 } }));
    await page.getByTestId('start-button').click();
    await page.waitForURL(/#\/sessions\/[0-9a-f-]{36}$/);
    const sessionId = /#\/sessions\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
    const status = async (): Promise<StatusResponse> => StatusResponse.parse(await (await fetch(`${ux.entryUrl}/api/v1/pipeline/status/${sessionId}`, { headers: { authorization: `Bearer ${token}` } })).json());

    // Running, with progress coming in live.
    await page.locator('[data-testid=session-status][data-status=running]').waitFor();
    await waitForProgress(page, 10);

    // Pause from the page: the session is paused and its progress stops.
    await page.getByTestId('btn-pause').click();
    await page.locator('[data-testid=session-status][data-status=paused]').waitFor();
    expect((await status()).status).toBe('paused');
    expect(await page.getByTestId('btn-pause').isDisabled()).toBe(true);
    const pausedAt = await page.getByTestId('total-progress').textContent();
    await page.waitForTimeout(1_000);
    expect(await page.getByTestId('total-progress').textContent()).toBe(pausedAt);

    // Save a checkpoint from the page while paused.
    await page.getByTestId('checkpoint-name').fill('from-the-page');
    await page.getByTestId('checkpoint-save').click();
    await page.getByTestId('checkpoints-body').getByText('from-the-page').waitFor();

    // Resume from the page and watch it finish.
    await page.getByTestId('btn-resume').click();
    await page.locator('[data-testid=session-status][data-status=running]').waitFor();
    await page.locator('[data-testid=total-progress]', { hasText: /^100%$/ }).waitFor({ timeout: 60_000 });
    await page.locator('[data-testid=session-status][data-status=completed]').waitFor();
    expect((await status()).status).toBe('completed');

    // Timeline, gates (the theater verdict: the forge's phases are genuine; dry-run is not judged), charts and the event log are filled.
    await page.locator('[data-testid=phase-evomerge][data-status=completed]').waitFor();
    await page.getByTestId('gates-evomerge').waitFor();
    const verdict = await page.getByTestId('gates-cognate').getByTestId('theater').first().textContent();
    if (FORGE) expect(verdict).toMatch(/^genuine \(score 0\.00, confidence \d\.\d\d\)$/);
    else expect(verdict).toBe('not evaluated');
    await page.getByTestId('chart-cpu').waitFor();
    expect(await page.getByTestId('event-log').locator('li').count()).toBeGreaterThan(5);
    await page.waitForTimeout(1_200); // let the charts take their last data

    // Every API call and socket carried the token.
    const api = requests.slice(sinceToken).filter((r) => r.url.includes('/api/v1/'));
    expect(api.length).toBeGreaterThan(3);
    expect(api.filter((r) => r.auth !== `Bearer ${token}`).map((r) => r.url)).toEqual([]);
    expect(sockets.some((u) => u.includes(`/ws/dashboard?session_id=${sessionId}`) && u.includes(`token=${encodeURIComponent(token)}`))).toBe(true);

    const artifact = path.join(ROOT, '.agent-forge', 'test-artifacts', 'dashboard.png');
    mkdirSync(path.dirname(artifact), { recursive: true });
    await page.screenshot({ path: artifact, fullPage: true });
    if (process.env.DASHBOARD_SCREENSHOT) {
      await page.locator('header.top').scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.resolve(ROOT, process.env.DASHBOARD_SCREENSHOT), clip: { x: 0, y: 0, width: 1280, height: 1180 }, fullPage: true });
    }

    // Back to the list: the session is there, completed, at 100 %.
    await page.getByRole('link', { name: '← Sessions' }).click();
    const row = page.locator(`tr[data-session="${sessionId}"]`);
    await row.getByText('completed').waitFor();
    await row.getByText('100%').waitFor();
    // With a token the page asks the security endpoint who it is; without auth that route is a 404.
    // With auth on, the calls made before the token was given are 401s.
    const expected = (p: string): boolean => p.includes('/api/v1/auth/whoami') || (p.length > 0 && problems.indexOf(p) < problemsBefore && /\b401\b|UNAUTHENTICATED|4401/.test(p));
    expect(problems.filter((p) => !expected(p))).toEqual([]);
  }, 90_000);
  it('a viewer watches a run live but is offered no control it may not use', async () => {
    const viewerToken = ux.stack.token(['viewer']);
    const { session_id: id } = await client.start({ phases: ['cognate'], config: dryRun(120, 50) });
    await page.goto(`${ux.entryUrl}/dashboard`);
    await page.getByTestId('token-input').fill(viewerToken);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.reload();
    await page.getByText('Your role can watch but not start pipelines.').waitFor();
    expect(await page.getByTestId('start-button').isDisabled()).toBe(true);

    await page.goto(`${ux.entryUrl}/dashboard#/sessions/${id}`);
    await page.locator('[data-testid=session-status][data-status=running]').waitFor();
    await waitForProgress(page, 5);
    for (const control of ['btn-pause', 'btn-stop', 'btn-cancel', 'checkpoint-save']) {
      expect({ control, disabled: await page.getByTestId(control).isDisabled() }).toEqual({ control, disabled: true });
    }
    // Live all the same: progress keeps coming in over the viewer's socket.
    const before = Number(((await page.getByTestId('total-progress').textContent()) ?? '0').replace('%', ''));
    await waitForProgress(page, before + 5);
    await client.control(id, 'cancel', { force: true });
    await page.locator('[data-testid=session-status][data-status=cancelled]').waitFor();
  }, 60_000);
  it('the /ws/client page connects, resumes after a disconnect from its last event id, and counts every event once', async () => {
    const { session_id: id } = await client.start({ phases: ['cognate', 'evomerge'], config: dryRun(30, 50) });
    const steady: LiveEvent[] = [];
    const live = client.live('pipeline', { sessionId: id, lastEventId: '0-0' });
    live.on('event', (e) => steady.push(e));

    await page.goto(`${ux.entryUrl}/ws/client`);
    await page.locator('#channel').selectOption('pipeline');
    await page.locator('#session').fill(id);
    if (ux.token) await page.locator('#token').fill(ux.token);
    await page.locator('#last').fill('0-0'); // from the start of the retained history
    await page.locator('#resume').click();
    await page.locator('#state', { hasText: /^connected$/ }).waitFor();
    const total = async (): Promise<number> => Number(await page.locator('#total').textContent());
    await waitFor(total, (n) => n >= 8, 15_000, 'events on the page');
    await page.locator('#disconnect').click();
    await page.locator('#state', { hasText: /^disconnected$/ }).waitFor();
    await page.waitForTimeout(600); // events go on meanwhile
    await page.locator('#resume').click();

    await waitFor(() => client.status(id), (s) => s.status === 'completed', 20_000, 'completed');
    const lastId = await waitFor(async () => steady.at(-1)?.event_id, (v) => typeof v === 'string' && steady.some((e) => e.event_type === 'pipeline_progress' && e.data.status === 'completed'), 5_000, 'steady socket saw the end');
    await waitFor(() => page.locator('#last').inputValue(), (v) => v === lastId, 5_000, 'page caught up');
    live.close();

    const expected: Record<string, number> = {};
    for (const e of steady) expected[e.event_type] = (expected[e.event_type] ?? 0) + 1;
    const shown: Record<string, number> = {};
    for (const cell of await page.locator('#counts td[data-type]').all()) shown[(await cell.getAttribute('data-type'))!] = Number(await cell.textContent());
    expect(shown).toEqual(expected);
    expect(await total()).toBe(steady.length);
    expect(await page.locator('#duplicates').textContent()).toBe('0');
    expect(await page.locator('#gaps').textContent()).toBe('0');
  }, 60_000);
});
