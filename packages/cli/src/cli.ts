import type { PipelinePhase, PipelineStatus, SwarmTopology } from '@agent-forge/contracts';
import {
  AgentForgeError,
  ApiError,
  BadRequestError,
  ConfigFileError,
  FollowTimeoutError,
  ValidationError,
  PHASE_ORDER,
  createNodeClient,
  formatDuration,
  isTerminal,
  readStructuredFile,
  resolveConnection,
  type AgentForgeClient,
  type ResolvedConnection,
  type SessionView,
  type StartPipelineInput,
  type StatusResponse,
} from '@agent-forge/sdk/node';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { Terminal, liveLines, summaryLines, table, type Io } from './term';

const PIPELINE_PHASES = PHASE_ORDER;
const TOPOLOGIES = ['hierarchical', 'mesh', 'star', 'ring'] as const satisfies readonly SwarmTopology[];
const STATUSES = ['idle', 'initializing', 'running', 'paused', 'completed', 'failed', 'cancelled'] as const satisfies readonly PipelineStatus[];

/** The request schemas (zod) load only for the commands that check input locally: startup stays fast. */
async function schemas(): Promise<typeof import('@agent-forge/contracts')> {
  return import('@agent-forge/contracts');
}

/** What the exit code means (also in `agent-forge --help`). */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, CANCELLED: 3 } as const;

/** A problem with what the user typed: exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

interface GlobalOpts {
  url?: string;
  token?: string;
  clientConfig?: string;
  json?: boolean;
  color?: boolean;
}

/** Exit code of a session's final status: completed 0, failed 1, cancelled 3 (others 0). */
export function exitCodeFor(status: PipelineStatus | null | undefined): number {
  if (status === 'failed') return EXIT.FAILED;
  if (status === 'cancelled') return EXIT.CANCELLED;
  return EXIT.OK;
}

function intArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

function phaseList(values: string[]): PipelinePhase[] {
  const phases = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  for (const p of phases) {
    if (!(PIPELINE_PHASES as readonly string[]).includes(p)) throw new UsageError(`unknown phase "${p}" (phases: ${PIPELINE_PHASES.join(', ')})`);
  }
  return phases as PipelinePhase[];
}

const START_KEYS = ['phases', 'preset', 'config', 'enable_monitoring', 'enable_checkpoints', 'swarm_topology', 'max_agents'];

/**
 * A `--config` file: a start request (`phases`/`preset`/`config`/`max_agents`/…), or else the
 * pipeline config itself (what goes under `config`).
 */
export function startRequestFromFile(file: string): StartPipelineInput {
  const raw = readStructuredFile(file);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`${file}: expected an object (a start request, or the pipeline config)`);
  const obj = raw as Record<string, unknown>;
  if (Object.keys(obj).some((k) => START_KEYS.includes(k))) return obj as StartPipelineInput;
  return { config: obj };
}

function zodMessages(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || 'request'}: ${i.message}`).join('; ');
}

/** Build the program. `run` returns the exit code; nothing calls process.exit. */
export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('agent-forge');
  const write = (text: string): void => void io.stdout.write(text);
  const term = (opts: GlobalOpts): Terminal => new Terminal(io.stdout, io.env, opts.color !== false);
  /** Progress goes to stderr in --json mode (stdout stays pure JSON), only when it is a terminal. */
  const progressTerm = (opts: GlobalOpts): Terminal | null => {
    if (!opts.json) return term(opts);
    return io.stderr.isTTY ? new Terminal(io.stderr, io.env, opts.color !== false) : null;
  };
  const json = (value: unknown): void => write(`${JSON.stringify(value, null, 2)}\n`);

  let conn: ResolvedConnection | null = null;
  const client = (opts: GlobalOpts): AgentForgeClient => {
    conn = resolveConnection({ url: opts.url, token: opts.token, configFile: opts.clientConfig, env: io.env, cwd: io.cwd });
    return createNodeClient({ baseUrl: conn.url, token: conn.token, timeoutMs: 30_000 });
  };
  const g = (cmd: Command): GlobalOpts => cmd.optsWithGlobals<GlobalOpts>();

  program
    .description('Start, follow, steer and checkpoint Agent Forge pipelines.')
    .addOption(new Option('--url <url>', 'entry URL of the stack (default: AGENT_FORGE_URL, the config file, else http://127.0.0.1:8080)'))
    .addOption(new Option('--token <token>', 'bearer token when auth is on (default: AGENT_FORGE_TOKEN, the config file, else .agent-forge/dev-token for a local URL)'))
    .addOption(new Option('--client-config <file>', 'config file with url / token / token_file (default: AGENT_FORGE_CONFIG, .agent-forge/config.{json,yaml}, ~/.config/agent-forge/config.{json,yaml})'))
    .option('--json', 'machine-readable output on stdout (the API response; progress, if any, on stderr)')
    .option('--no-color', 'no colours')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nExit codes: 0 completed (or the command succeeded), 1 failed (or an error), 2 bad usage (incl. a 422 from the server), 3 cancelled.\n' +
        'Examples:\n  agent-forge start --preset quick_test --follow\n  agent-forge start cognate evomerge --config pipeline.yaml\n  agent-forge follow <session_id>\n  agent-forge checkpoint save <session_id> --name before-training',
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) });

  // ---- follow (shared by follow, start --follow, checkpoint load --follow) --------------------
  async function follow(c: AgentForgeClient, opts: GlobalOpts, sessionId: string, timeoutS?: number): Promise<StatusResponse> {
    const t = progressTerm(opts);
    if (t && !opts.json) t.line(t.dim(`Following ${sessionId} (${conn?.url ?? ''}/dashboard/#/sessions/${sessionId})`));
    const milestones = new Map<string, number>();
    const onUpdate = (v: SessionView, info: { socket: string }): void => {
      if (!t) return;
      if (t.tty) {
        t.setLive(liveLines(t, v, info.socket));
        return;
      }
      // No TTY: one line per 25 % of a phase and per finished phase.
      for (const p of v.phases) {
        const step = p.status === 'completed' || p.status === 'failed' ? 100 : Math.min(75, Math.floor(p.progress_percent / 25) * 25);
        if (step <= (milestones.get(p.phase) ?? 0)) continue;
        milestones.set(p.phase, step);
        const what = p.status === 'failed' ? `failed after ${formatDuration(p.duration_seconds)}` : step === 100 ? `done in ${formatDuration(p.duration_seconds)}` : `${step}%`;
        t.line(`  ${p.phase.padEnd(11)} ${what.padEnd(18)} total ${Math.round(v.total_progress_percent)}% · ETA ${formatDuration(v.eta_seconds)} · ${v.agent_count} agent${v.agent_count === 1 ? '' : 's'}`);
      }
    };
    try {
      const final = await c.follow(sessionId, { onUpdate, ...(timeoutS ? { timeoutMs: timeoutS * 1000 } : {}) });
      t?.endLive();
      return final;
    } catch (err) {
      t?.endLive();
      throw err;
    }
  }

  function printFinal(opts: GlobalOpts, final: StatusResponse): void {
    if (opts.json) json(final);
    else {
      const t = term(opts);
      t.line();
      for (const l of summaryLines(t, final)) t.line(l);
    }
    setExit(exitCodeFor(final.status));
  }

  // ---- start ---------------------------------------------------------------------------------
  program
    .command('start')
    .description('start a pipeline: phases (e.g. `cognate evomerge`) or --preset, config from --config (JSON or YAML)')
    .argument('[phases...]', `phases in order: ${PIPELINE_PHASES.join(', ')}`)
    .option('-p, --preset <name>', 'a preset (agent-forge presets) instead of phases')
    .option('-c, --config <file>', 'JSON/YAML file: a start request, or the pipeline config (`config.<phase>` sections)')
    .option('--max-agents <n>', 'agents at most (1..100)', intArg(1, 100))
    .addOption(new Option('--topology <topology>', 'swarm topology').choices(TOPOLOGIES))
    .option('--executor <name>', 'executor of every phase (forge, dry-run, …)')
    .option('-f, --follow', 'follow the run live until it ends (exit code = its outcome)')
    .option('--timeout <seconds>', 'with --follow: stop following after this long', intArg(1, 7 * 86_400))
    .action(async (phaseArgs: string[], o: { preset?: string; config?: string; maxAgents?: number; topology?: string; executor?: string; follow?: boolean; timeout?: number }, cmd: Command) => {
      const opts = g(cmd);
      let req: StartPipelineInput = o.config ? startRequestFromFile(o.config) : {};
      const phases = phaseList(phaseArgs);
      if (phases.length > 0) req = { ...req, phases };
      if (o.preset) req = { ...req, preset: o.preset };
      if (o.maxAgents !== undefined) req = { ...req, max_agents: o.maxAgents };
      if (o.topology) req = { ...req, swarm_topology: o.topology as StartPipelineInput['swarm_topology'] };
      if (o.executor) req = { ...req, config: { ...(req.config ?? {}), executor: o.executor } };
      if (!req.phases && !req.preset) throw new UsageError('give phases (e.g. `agent-forge start cognate evomerge`) or --preset <name> (see `agent-forge presets`)');
      const checked = (await schemas()).StartPipelineRequest.safeParse(req);
      if (!checked.success) throw new UsageError(`invalid start request: ${zodMessages(checked.error)}`);
      const c = client(opts);
      const started = await c.start(req);
      if (!o.follow) {
        if (opts.json) json(started);
        else {
          const t = term(opts);
          t.line(`Started session ${t.bold(started.session_id)}${req.preset ? ` (preset ${req.preset})` : ''}${req.phases ? ` (${req.phases.join(' → ')})` : ''}`);
          t.line(t.dim(`  follow:    agent-forge follow ${started.session_id}`));
          t.line(t.dim(`  dashboard: ${c.baseUrl}/dashboard/#/sessions/${started.session_id}`));
        }
        return;
      }
      if (!opts.json) {
        const t = term(opts);
        t.line(`Started session ${t.bold(started.session_id)}${req.preset ? ` (preset ${req.preset})` : ''}`);
      }
      printFinal(opts, await follow(c, opts, started.session_id, o.timeout));
    });

  // ---- status / follow -----------------------------------------------------------------------
  program
    .command('status')
    .description("a session's status, progress, ETA and per-phase metrics (exit code = its outcome when it has ended)")
    .argument('<session_id>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const opts = g(cmd);
      const s = await client(opts).status(id);
      if (opts.json) json(s);
      else for (const l of summaryLines(term(opts), s)) term(opts).line(l);
      setExit(exitCodeFor(s.status));
    });

  program
    .command('follow')
    .description('follow a session live (a bar per phase, agents, ETA), then print a summary; exit code = its outcome')
    .argument('<session_id>')
    .option('--timeout <seconds>', 'stop following after this long (exit 1)', intArg(1, 7 * 86_400))
    .action(async (id: string, o: { timeout?: number }, cmd: Command) => {
      const opts = g(cmd);
      printFinal(opts, await follow(client(opts), opts, id, o.timeout));
    });

  // ---- control -------------------------------------------------------------------------------
  const controlCommand = (action: 'pause' | 'resume' | 'stop' | 'cancel', description: string): Command => {
    const cmd = program.command(action).description(description).argument('<session_id>');
    if (action === 'cancel') cmd.option('--force', 'end the session even if its worker does not answer');
    return cmd.action(async (id: string, o: { force?: boolean }, c: Command) => {
      const opts = g(c);
      const res = await client(opts).control(id, action, o.force ? { force: true } : {});
      if (opts.json) json(res);
      else {
        const t = term(opts);
        t.line(`${action}: session ${t.bold(id)} is now ${t.status(res.pipeline_status)}`);
      }
    });
  };
  controlCommand('pause', 'pause a running session (its phase parks at the next step; no worker is held)');
  controlCommand('resume', 'resume a paused session from where it parked');
  controlCommand('stop', 'stop gracefully: checkpoint (named `stop`), then end as cancelled');
  controlCommand('cancel', 'abort now (ends as cancelled)');

  // ---- checkpoints ---------------------------------------------------------------------------
  const checkpoint = program.command('checkpoint').description('save, load and list checkpoints');
  checkpoint
    .command('save')
    .description("save a consistent snapshot of a session's state")
    .argument('<session_id>')
    .option('-n, --name <name>', 'a name for it')
    .option('--no-model', 'without the model state')
    .option('--no-swarm', 'without the swarm state')
    .action(async (id: string, o: { name?: string; model?: boolean; swarm?: boolean }, cmd: Command) => {
      const opts = g(cmd);
      const cp = await client(opts).saveCheckpoint({
        session_id: id,
        ...(o.name ? { checkpoint_name: o.name } : {}),
        include_model_state: o.model !== false,
        include_swarm_state: o.swarm !== false,
      });
      if (opts.json) json(cp);
      else term(opts).line(`Saved checkpoint ${cp.checkpoint_id}${cp.checkpoint_name ? ` (${cp.checkpoint_name})` : ''} of ${id}: phase ${cp.phase ?? '—'}, ${(cp.size_mb * 1024).toFixed(1)} KB`);
    });
  checkpoint
    .command('load')
    .description('restore a checkpoint and continue the run (in a new session when the original is still live)')
    .argument('<checkpoint_id>')
    .option('-f, --follow', 'follow the restored run until it ends (exit code = its outcome)')
    .action(async (id: string, o: { follow?: boolean }, cmd: Command) => {
      const opts = g(cmd);
      const c = client(opts);
      const res = await c.loadCheckpoint(id);
      if (!o.follow) {
        if (opts.json) json(res);
        else term(opts).line(`Loaded ${id} into session ${res.session_id}${res.next_phase ? `, continuing with ${res.next_phase}` : ' (nothing left to run)'}`);
        return;
      }
      if (!opts.json) term(opts).line(`Loaded ${id} into session ${res.session_id}`);
      printFinal(opts, await follow(c, opts, res.session_id));
    });
  checkpoint
    .command('list')
    .description("a session's checkpoints, newest first")
    .argument('<session_id>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const opts = g(cmd);
      const list = await client(opts).checkpoints(id);
      if (opts.json) return json(list);
      const t = term(opts);
      if (list.length === 0) return t.line(`No checkpoints for ${id}.`);
      for (const l of table(
        list.map((cp) => [cp.checkpoint_id, cp.checkpoint_name ?? '', cp.phase ?? '—', cp.timestamp, `${(cp.size_mb * 1024).toFixed(1)} KB`]),
        ['checkpoint', 'name', 'phase', 'saved', 'size'],
      ))
        t.line(l);
    });

  // ---- presets, history, gates, swarm, health ------------------------------------------------
  const presets = program.command('presets').description('list, show and save presets');
  presets
    .command('list', { isDefault: true })
    .description('every preset with its phases and use count')
    .action(async (_o: unknown, cmd: Command) => {
      const opts = g(cmd);
      const c = client(opts);
      const details = await Promise.all((await c.presets()).map((n) => c.preset(n)));
      if (opts.json) return json(details);
      const t = term(opts);
      for (const l of table(
        details.map((p) => {
          const cfg = p.config as { phases?: string[]; max_agents?: number };
          return [p.preset_name, (cfg.phases ?? []).join(' → '), cfg.max_agents !== undefined ? String(cfg.max_agents) : '', String(p.usage_count), p.builtin ? 'built-in' : 'saved'];
        }),
        ['preset', 'phases', 'agents', 'used', ''],
      ))
        t.line(l);
    });
  presets
    .command('show')
    .argument('<name>')
    .description("one preset's config")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const opts = g(cmd);
      const p = await client(opts).preset(name);
      if (opts.json) return json(p);
      const t = term(opts);
      t.line(`${t.bold(p.preset_name)} (${p.builtin ? 'built-in' : 'saved'}, used ${p.usage_count}×${p.last_used ? `, last ${p.last_used}` : ''})`);
      t.line(JSON.stringify(p.config, null, 2));
    });
  presets
    .command('save')
    .argument('<name>')
    .requiredOption('-c, --config <file>', 'JSON/YAML file: phases, max_agents, config …')
    .description('save (or replace) a preset from a file')
    .action(async (name: string, o: { config: string }, cmd: Command) => {
      const opts = g(cmd);
      const raw = readStructuredFile(o.config);
      const parsed = (await schemas()).PresetConfig.safeParse(raw);
      if (!parsed.success) throw new UsageError(`invalid preset config in ${o.config}: ${zodMessages(parsed.error)}`);
      const saved = await client(opts).savePreset(name, parsed.data);
      if (opts.json) json(saved);
      else term(opts).line(`Saved preset ${saved.preset_name}.`);
    });

  program
    .command('history')
    .description('sessions, newest first')
    .option('-l, --limit <n>', 'how many (1..100)', intArg(1, 100), 10)
    .addOption(new Option('-s, --status <status>', 'only this status').choices(STATUSES))
    .action(async (o: { limit: number; status?: PipelineStatus }, cmd: Command) => {
      const opts = g(cmd);
      const list = await client(opts).history({ limit: o.limit, ...(o.status ? { status: o.status } : {}) });
      if (opts.json) return json(list);
      const t = term(opts);
      if (list.length === 0) return t.line('No sessions.');
      for (const l of table(
        list.map((h) => [h.session_id, t.status(h.status), h.phases.join(' → '), h.start_time.replace('T', ' ').slice(0, 19), h.duration_seconds !== null ? formatDuration(h.duration_seconds) : isTerminal(h.status) ? '—' : 'running']),
        ['session', 'status', 'phases', 'started (UTC)', 'duration'],
      ))
        t.line(l);
    });

  program
    .command('gates')
    .description("judge a session's quality gates (default: its current phase, else the last)")
    .argument('<session_id>')
    .addOption(new Option('--phase <phase>', 'the phase to judge').choices([...PIPELINE_PHASES]))
    .action(async (id: string, o: { phase?: PipelinePhase }, cmd: Command) => {
      const opts = g(cmd);
      const r = await client(opts).qualityGates(id, o.phase ? { phase: o.phase } : {});
      if (opts.json) return json(r);
      const t = term(opts);
      t.line(`${t.bold(r.phase)}: ${r.all_gates_passed ? t.green('all gates passed') : t.red(`${r.gates_failed} gate(s) failed`)} (${r.gates_passed}/${r.gate_results.length}) · can proceed: ${r.can_proceed ? 'yes' : 'no'}`);
      for (const l of table(
        r.gate_results.map((x) => [x.passed ? t.green('✓') : t.red('✗'), x.gate_name, x.score.toFixed(2), String(x.threshold), x.details.state === 'pending' ? 'pending' : (x.recommendations[0] ?? '')]),
        ['', 'gate', 'score', 'threshold', 'note'],
      ))
        t.line(`  ${l}`);
      const th = r.theater_detection;
      t.line(`  theater detection: ${th === null ? 'not evaluated' : th.theater_detected ? t.red(`suspected (score ${th.theater_score.toFixed(2)})`) : `genuine (confidence ${th.confidence.toFixed(2)})`}`);
      if (r.blocking_failures.length > 0) t.line(t.red(`  blocking: ${r.blocking_failures.join(', ')}`));
    });

  program
    .command('swarm')
    .description("a session's agents")
    .argument('<session_id>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const opts = g(cmd);
      const s = await client(opts).swarm(id);
      if (opts.json) return json(s);
      const t = term(opts);
      t.line(`${s.topology} swarm: ${s.total_agents} agents (${s.active_agents} active, ${s.idle_agents} idle, max ${s.max_agents}) · ${s.cpu_usage_percent.toFixed(0)}% CPU · ${s.memory_usage_mb.toFixed(0)} MB`);
      for (const l of table(
        s.agents.map((a) => [a.agent_id, a.phase, a.state, a.current_task ?? '—', `${a.cpu_usage_percent.toFixed(0)}%`, `${a.memory_usage_mb.toFixed(0)} MB`]),
        ['agent', 'phase', 'state', 'task', 'cpu', 'memory'],
      ))
        t.line(`  ${l}`);
    });

  program
    .command('health')
    .description("the API's health")
    .action(async (_o: unknown, cmd: Command) => {
      const opts = g(cmd);
      const h = await client(opts).health();
      if (opts.json) return json(h);
      term(opts).line(`${h.status} · version ${h.version} · up ${formatDuration(h.uptime_seconds)} · ${h.active_sessions} active sessions · redis ${h.redis}`);
    });

  return program;
}

/** Run the CLI; resolves with the exit code. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  const json = argv.includes('--json');
  const fail = (exit: number, message: string, body?: Record<string, unknown>): number => {
    if (json) io.stderr.write(`${JSON.stringify({ error: message, ...body })}\n`);
    else io.stderr.write(`agent-forge: ${message}\n`);
    return exit;
  };
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help / --version print and "fail" with code 0.
      if (err.exitCode === 0) return EXIT.OK;
      return EXIT.USAGE;
    }
    if (err instanceof UsageError || err instanceof ConfigFileError) return fail(EXIT.USAGE, err.message);
    if (err instanceof ApiError) {
      const exit = err instanceof ValidationError || err instanceof BadRequestError ? EXIT.USAGE : EXIT.FAILED;
      const details = err.details && Object.keys(err.details).length > 0 ? ` (${Object.entries(err.details).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('; ')})` : '';
      const hint = err.status === 401 ? ' — pass --token, set AGENT_FORGE_TOKEN, or use .agent-forge/dev-token' : '';
      return fail(exit, `${err.error_code}: ${err.body?.error ?? err.message}${details}${hint}`, { error_code: err.error_code, status: err.status, details: err.details });
    }
    if (err instanceof FollowTimeoutError) return fail(EXIT.FAILED, err.message, { error_code: 'FOLLOW_TIMEOUT', session_id: err.sessionId });
    if (err instanceof AgentForgeError) return fail(EXIT.FAILED, `${err.message}${/ECONNREFUSED|fetch failed/.test(err.message) ? ' — is the stack running (npm start)? Set --url or AGENT_FORGE_URL.' : ''}`, { error_code: err.name });
    return fail(EXIT.FAILED, err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
}
