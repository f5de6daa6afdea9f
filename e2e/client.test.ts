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
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from './support/stack';
import { dryRun, startUxStack, type UxStack } from './support/ux-stack';

/**
 * The SDK and the `agent-forge` CLI against one real stack (gateway, realtime, dry-run worker
 * behind the entry proxy). SDK: every REST method answers the contract's shape, errors are typed,
 * the live channel resumes across reconnects without a gap or a duplicate, `follow` ends with the
 * final status. CLI (the built bin as a child process): exit codes 0/1/2/3, `--json` shapes, live
 * progress then a summary.
 */
let ux: UxStack;
let client: AgentForgeClient;

beforeAll(async () => {
  ux = await startUxStack('e2e-sdk');
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
    const r = await cli(['start', '--config', req, '--follow', '--json']);
    expect(r.code).toBe(0);
    const final = expectShape(StatusResponse, jsonOf(r));
    expect(final.status).toBe('completed');
    const id = final.session_id;
    const [status, history, presets, gates, cpRun, started] = await Promise.all([
      cli(['status', id, '--json']),
      cli(['history', '--limit', '3', '--status', 'completed', '--json']),
      cli(['presets', '--json']),
      cli(['gates', id, '--phase', 'cognate', '--json']),
      cli(['checkpoint', 'save', id, '--name', 'cli', '--json']),
      cli(['start', '--preset', 'quick_test', '--executor', 'dry-run', '--json']),
    ]);
    expect(expectShape(StatusResponse, jsonOf(status)).session_id).toBe(id);
    expect(expectShape(ExecutionHistory.array(), jsonOf(history)).map((h) => h.session_id)).toContain(id);
    expect(expectShape(ConfigPresetResponse.array(), jsonOf(presets)).map((p) => p.preset_name)).toContain('quick_test');
    expect(expectShape(QualityGateResponse, jsonOf(gates)).phase).toBe('cognate');
    expect(expectShape(StartPipelineResponse, jsonOf(started)).status).toBe('started');
    const cp = expectShape(CheckpointResponse, jsonOf(cpRun));
    const [list, load] = await Promise.all([cli(['checkpoint', 'list', id, '--json']), cli(['checkpoint', 'load', cp.checkpoint_id, '--json'])]);
    expect(expectShape(CheckpointResponse.array(), jsonOf(list)).map((c) => c.checkpoint_id)).toContain(cp.checkpoint_id);
    expectShape(CheckpointLoadResponse, jsonOf(load));
  }, 40_000);

  it('pause, resume and cancel from the CLI; following a cancelled run exits 3', async () => {
    const slow = file('slow.json', JSON.stringify(dryRun(100, 100)));
    const started = expectShape(StartPipelineResponse, jsonOf(await cli(['start', 'cognate', 'evomerge', '--config', slow, '--json'])));
    const id = started.session_id;
    await waitFor(() => client.status(id), (s) => s.status === 'running', 10_000, 'running');
    expect(expectShape(ControlResponse, jsonOf(await cli(['pause', id, '--json']))).pipeline_status).toBe('paused');
    const paused = await cli(['status', id]);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(/: paused · /);
    const again = await cli(['pause', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/INVALID_STATE_TRANSITION: cannot pause a session that is paused/);
    expect((await cli(['resume', id])).stdout).toMatch(/resume: session .* is now running/);
    expect((await cli(['cancel', id, '--force'])).code).toBe(0);
    const followed = await cli(['follow', id]);
    expect(followed.code).toBe(3);
    expect(followed.stdout).toMatch(/: cancelled · /);
    expect((await cli(['status', id])).code).toBe(3);
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
      cli(['start', 'alchemy']),
      cli(['start']),
      cli(['start', 'cognate', '--max-agents', '500']),
      cli(['status']),
      cli(['no-such-command']),
      cli(['history', '--status', 'sleeping']),
      cli(['start', 'cognate', '--config', file('broken.json', '{nope')]),
    ]);
    expect(usage.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect(usage[0]!.stderr).toMatch(/unknown phase "alchemy"/);
    expect(usage[6]!.stderr).toMatch(/broken.json is not valid JSON/);
    const closedPort = await freePort();
    const [server, missing, down] = await Promise.all([
      cli(['start', 'training', '--config', file('bad-config.json', JSON.stringify({ training: { batch_size: -1 } })), '--json']),
      cli(['status', 'no-such-session']),
      cli(['health'], { AGENT_FORGE_URL: `http://127.0.0.1:${closedPort}` }),
    ]);
    expect(server.code).toBe(2);
    expect(JSON.parse(server.stderr)).toMatchObject({ error_code: 'VALIDATION_ERROR', status: 422, details: { 'config.training.batch_size': expect.any(String) } });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/SESSION_NOT_FOUND/);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/is the stack running/);
  }, 30_000);
});
