import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { AgentStatus, PipelinePhase, SwarmTopology } from '@agent-forge/contracts';
import { Agent, type Reply } from './agent';
import { AgentQueue } from './agent-queue';
import { SwarmError, toTaskFailure, type TaskFailure } from './errors';
import { LEAD_ROLE, workerRole } from './roles';
import { Semaphore } from './semaphore';
import { COORDINATOR, edgeKey, inNeighbours, outNeighbours, type EdgeCounts } from './topology';

export interface SwarmOptions {
  phase: PipelinePhase;
  topology: SwarmTopology;
  /** Agent threads to start (the caller has already applied max_agents). At least 1. */
  agents: number;
  /** Heap limit of every agent thread, MB. */
  memoryLimitMb: number;
  /** Module of task handlers (see AgentSpec) and the export holding them. */
  module: string;
  exportName: string;
  /** Prefix of agent ids, e.g. `evomerge-1a2b3c4d`. */
  idPrefix: string;
  /** Tasks computing at once; default os.availableParallelism() — the bounded pool. */
  concurrency?: number;
  /** Told about every change of agents (throttled to one call per `reportEveryMs`, and on close). */
  onAgents?: (agents: AgentStatus[], latencyMs: number | null) => void | Promise<void>;
  reportEveryMs?: number;
}

export interface SwarmTask<P = unknown> {
  /** Handler name in the agents' handler module. */
  kind: string;
  payload: P;
  /** Shown as the agent's current task while it runs. */
  label: string;
  /** Hierarchical: higher runs first. */
  priority?: number;
}

export type TaskOutcome<R = unknown> = { ok: true; value: R; agent: string } | { ok: false; error: TaskFailure; agent: string };

/** A task of an exchange round, pinned to one agent (its island). */
export interface RoundTask<P = unknown> extends SwarmTask<P> {
  agent: number;
}

/**
 * A phase's swarm: agent threads wired by the topology, work through a bounded pool, per-edge
 * message counts, measured link latency and per-agent figures. One agent failing (e.g. its heap
 * limit) fails only the tasks it held; the others go on.
 */
export class Swarm {
  readonly agents: Agent[];
  readonly topology: SwarmTopology;
  readonly concurrency: number;
  private readonly edges = new Map<string, number>();
  private latencyMs: number | null = null;
  private lastReport = 0;
  private reportTimer: NodeJS.Timeout | null = null;
  private reporting: Promise<void> = Promise.resolve();
  private part = 0;

  private constructor(private readonly opts: SwarmOptions) {
    if (opts.agents < 1) throw new SwarmError('SWARM_CONFIG', 'a swarm needs at least one agent');
    this.topology = opts.topology;
    this.concurrency = Math.max(1, opts.concurrency ?? os.availableParallelism());
    this.agents = Array.from({ length: opts.agents }, (_, k) => {
      const lead = opts.topology === 'hierarchical' && k === 0;
      const role = lead ? LEAD_ROLE : workerRole(opts.phase, opts.topology === 'hierarchical' ? k - 1 : k);
      return new Agent({ id: `${opts.idPrefix}-${role}-${k}`, role, phase: opts.phase, memoryLimitMb: opts.memoryLimitMb, module: opts.module, exportName: opts.exportName });
    });
  }

  /** Start the agents, link them as the topology says and measure the links' latency. */
  static async start(opts: SwarmOptions): Promise<Swarm> {
    const swarm = new Swarm(opts);
    try {
      await Promise.all(swarm.agents.map((a) => a.ready));
      await swarm.wire();
      await swarm.measureLatency();
      await Promise.all(swarm.agents.map((a) => a.request({ t: 'stats' })));
    } catch (err) {
      await swarm.close();
      throw err;
    }
    swarm.report(true);
    return swarm;
  }

  private async wire(): Promise<void> {
    const n = this.agents.length;
    const links = this.agents.map(() => [] as { name: string; port: MessagePort }[]);
    const link = (i: number, j: number) => {
      const { port1, port2 } = new MessageChannel();
      links[i]!.push({ name: this.agents[j]!.name, port: port1 });
      links[j]!.push({ name: this.agents[i]!.name, port: port2 });
    };
    if (this.topology === 'hierarchical') for (let j = 1; j < n; j++) link(0, j);
    if (this.topology === 'mesh') for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) link(i, j);
    if (this.topology === 'ring' && n === 2) link(0, 1);
    if (this.topology === 'ring' && n > 2) for (let i = 0; i < n; i++) link(i, (i + 1) % n);
    const names = (ix: number[]) => ix.map((j) => this.agents[j]!.name);
    await Promise.all(this.agents.map((a, i) => a.wire(links[i]!, names(outNeighbours(this.topology, i, n)), names(inNeighbours(this.topology, i, n)))));
  }

  /**
   * Round trips over the topology's links, timed by the sender: star — coordinator↔agent;
   * hierarchical — lead↔each worker; mesh and ring — each agent↔its next agent. The mean RTT in
   * ms becomes `communication_latency_ms`. Probes are not data and are not in the edge counts.
   */
  async measureLatency(): Promise<number | null> {
    const live = this.agents.filter((a) => a.alive);
    const rtts: number[] = [];
    if (this.topology === 'star' || live.length < 2) {
      for (const a of live) {
        const t0 = performance.now();
        await a.request({ t: 'echo' });
        rtts.push(performance.now() - t0);
      }
    } else {
      const pairs = this.topology === 'hierarchical' ? live.slice(1).map((w) => [live[0]!, w] as const) : live.map((a, i) => [a, live[(i + 1) % live.length]!] as const);
      for (const [from, to] of pairs) {
        const r = await from.request({ t: 'probe', to: to.name });
        if (r.ok && typeof r.value === 'number') rtts.push(r.value);
      }
    }
    if (rtts.length > 0) this.latencyMs = Math.round((rtts.reduce((s, x) => s + x, 0) / rtts.length) * 1000) / 1000;
    return this.latencyMs;
  }

  get communicationLatencyMs(): number | null {
    return this.latencyMs;
  }

  private count(from: string, to: string, n = 1): void {
    const key = edgeKey(from, to);
    this.edges.set(key, (this.edges.get(key) ?? 0) + n);
  }

  /** Send a data message to an agent and await its answer; both directions are counted. */
  private async exchange(agent: Agent, msg: Record<string, unknown>): Promise<Reply> {
    this.count(COORDINATOR, agent.name);
    const reply = await agent.request(msg);
    this.count(agent.name, COORDINATOR);
    return reply;
  }

  private async failureOf(agent: Agent, err: unknown): Promise<TaskFailure> {
    // The thread's exit tells why it died (its 'error' event comes first): wait for it.
    if (!agent.alive || (err as { code?: string })?.code === 'AGENT_LOST') await agent.exited;
    return toTaskFailure(agent.failure ?? err);
  }

  private readonly startedWork = new Set<Agent>();

  private setTask(agent: Agent, task: string | null): void {
    if (!agent.alive) return;
    agent.state = task === null ? 'idle' : 'executing';
    agent.task = task;
    // An agent's first task is always reported at once (later changes are throttled).
    const first = task !== null && !this.startedWork.has(agent);
    if (first) this.startedWork.add(agent);
    this.report(first);
  }

  /**
   * Run independent tasks; outcomes come back in task order whatever the topology, so results do
   * not depend on which agent ran what. The topology decides how tasks and results travel.
   */
  async map<P, R>(tasks: SwarmTask<P>[]): Promise<TaskOutcome<R>[]> {
    if (tasks.length === 0) return [];
    const out =
      this.topology === 'star'
        ? await this.mapStar<P, R>(tasks)
        : this.topology === 'hierarchical'
          ? await this.mapHierarchical<P, R>(tasks)
          : await this.mapPeers<P, R>(tasks);
    this.report();
    return out;
  }

  private async mapStar<P, R>(tasks: SwarmTask<P>[]): Promise<TaskOutcome<R>[]> {
    const outcomes = new Array<TaskOutcome<R>>(tasks.length);
    const pool = new Semaphore(this.concurrency);
    const free = new AgentQueue(this.agents);
    await Promise.all(
      tasks.map((task, k) =>
        pool.run(async () => {
          const agent = await free.acquire();
          if (!agent) return;
          this.setTask(agent, task.label);
          try {
            const r = await this.exchange(agent, { t: 'task', task: { kind: task.kind, payload: task.payload } });
            outcomes[k] = r.ok ? { ok: true, value: r.value as R, agent: agent.name } : { ok: false, error: toTaskFailure(r.error), agent: agent.name };
          } catch (err) {
            outcomes[k] = { ok: false, error: await this.failureOf(agent, err), agent: agent.name };
          }
          this.setTask(agent, null);
          free.release(agent);
        }),
      ),
    );
    return this.failRest(outcomes, tasks.length);
  }

  private async mapHierarchical<P, R>(tasks: SwarmTask<P>[]): Promise<TaskOutcome<R>[]> {
    // Priority order, stable: the lead works down the list.
    const order = tasks.map((t, k) => ({ t, k })).sort((a, b) => (b.t.priority ?? 0) - (a.t.priority ?? 0) || a.k - b.k);
    const lead = this.agents[0]!;
    const team = this.agents.slice(1).filter((a) => a.alive);
    const outcomes = new Array<TaskOutcome<R>>(tasks.length);
    if (!lead.alive) return this.failRest(outcomes, tasks.length);
    this.setTask(lead, `leading ${tasks.length} tasks`);
    for (const w of team) this.setTask(w, `batch from ${lead.name}: ${tasks.length} tasks (${order[0]!.t.label}, …)`);
    try {
      const r = await this.exchange(lead, {
        t: 'lead',
        tasks: order.map(({ t }) => ({ kind: t.kind, payload: t.payload })),
        team: team.map((a) => a.name),
        slots: Math.min(this.concurrency, team.length),
      });
      const got = r.value as Reply[];
      for (let i = 0; i < order.length; i++) {
        const g = got[i]!;
        const agentName = g.agent ?? lead.name;
        const member = this.agents.find((a) => a.name === agentName);
        if (typeof g.heap === 'number' && member) member.heapBytes = g.heap;
        if (g.ok) outcomes[order[i]!.k] = { ok: true, value: g.value as R, agent: agentName };
        else outcomes[order[i]!.k] = { ok: false, error: member && g.error?.code === 'AGENT_LOST' ? await this.failureOf(member, g.error) : toTaskFailure(g.error), agent: agentName };
      }
    } catch (err) {
      const failure = await this.failureOf(lead, err);
      for (let k = 0; k < tasks.length; k++) outcomes[k] = { ok: false, error: failure, agent: lead.name };
    }
    this.setTask(lead, null);
    for (const w of team) this.setTask(w, null);
    return outcomes;
  }

  /** Mesh/ring batch: parts computed through the bounded pool, then assembled peer to peer. */
  private async mapPeers<P, R>(tasks: SwarmTask<P>[]): Promise<TaskOutcome<R>[]> {
    const live = this.agents.filter((a) => a.alive);
    const outcomes = new Array<TaskOutcome<R>>(tasks.length);
    if (live.length === 0) return this.failRest(outcomes, tasks.length);
    const part = this.part++;
    const parts = partition(tasks, live.length);
    const pool = new Semaphore(this.concurrency);
    const failed = new Map<Agent, TaskFailure>();
    await Promise.all(
      live.map((agent, i) =>
        pool.run(async () => {
          this.setTask(agent, parts[i]!.map((t) => t.label).join(', ') || 'no tasks');
          try {
            await this.exchange(agent, { t: 'part', part, tasks: parts[i]!.map(({ index, kind, payload }) => ({ index, kind, payload })) });
          } catch (err) {
            failed.set(agent, await this.failureOf(agent, err));
          }
          this.setTask(agent, null);
        }),
      ),
    );
    if (failed.size > 0) {
      // A peer lost its part: the assembly could not complete; its tasks fail, the others are recomputed nowhere.
      for (const [agent, failure] of failed) for (const t of parts[live.indexOf(agent)]!) outcomes[t.index] = { ok: false, error: failure, agent: agent.name };
      return this.failRest(outcomes, tasks.length, { code: 'SWARM_ASSEMBLY', message: 'a peer was lost before its part was assembled' });
    }
    const order = live.map((a) => a.name);
    let lost: TaskFailure | null = null;
    const replies = await Promise.all(
      live.map((agent) =>
        this.exchange(agent, { t: 'assemble', part, topology: this.topology, order }).catch(async (err: unknown) => {
          lost ??= await this.failureOf(agent, err);
          return null;
        }),
      ),
    );
    await this.collectPeerEdges();
    const full = replies.find((r) => Array.isArray(r?.value))?.value as { index: number; ok: boolean; value?: R; error?: TaskFailure; agent: string }[] | undefined;
    if (!full) return this.failRest(outcomes, tasks.length, lost ?? { code: 'SWARM_ASSEMBLY', message: 'no peer returned the assembled batch' });
    for (const o of full) outcomes[o.index] = o.ok ? { ok: true, value: o.value as R, agent: o.agent } : { ok: false, error: toTaskFailure(o.error), agent: o.agent };
    return outcomes;
  }

  /**
   * One exchange round (mesh/ring island model): each task runs on its agent; in the handler,
   * `ctx.gather()` returns what the agent's in-neighbours shared in the previous round and
   * `ctx.share(v)` sends `v` to its out-neighbours for the next. Rounds are barriers: round r+1
   * starts after every task of round r answered, so a gather never waits on unstarted work and a
   * bounded pool smaller than the swarm cannot deadlock.
   */
  async round<P, R>(round: number, tasks: RoundTask<P>[]): Promise<TaskOutcome<R>[]> {
    if (this.topology !== 'mesh' && this.topology !== 'ring') throw new SwarmError('SWARM_TOPOLOGY', `exchange rounds need a mesh or ring topology, not ${this.topology}`);
    const pool = new Semaphore(this.concurrency);
    const outcomes = await Promise.all(
      tasks.map((task) =>
        pool.run(async (): Promise<TaskOutcome<R>> => {
          const agent = this.agents[task.agent];
          if (!agent) throw new SwarmError('SWARM_CONFIG', `no agent ${task.agent}`);
          this.setTask(agent, task.label);
          try {
            const r = await this.exchange(agent, { t: 'task', task: { kind: task.kind, payload: task.payload, round } });
            return r.ok ? { ok: true, value: r.value as R, agent: agent.name } : { ok: false, error: toTaskFailure(r.error), agent: agent.name };
          } catch (err) {
            return { ok: false, error: await this.failureOf(agent, err), agent: agent.name };
          } finally {
            this.setTask(agent, null);
          }
        }),
      ),
    );
    await this.collectPeerEdges();
    this.report();
    return outcomes;
  }

  private failRest<R>(outcomes: TaskOutcome<R>[], n: number, error: TaskFailure = { code: 'AGENT_LOST', message: 'no agent left to run the task' }): TaskOutcome<R>[] {
    for (let k = 0; k < n; k++) if (!outcomes[k]) outcomes[k] = { ok: false, error, agent: COORDINATOR };
    return outcomes;
  }

  private readonly peerSent = new Map<string, Record<string, number>>();

  /** Agent→agent counts live in the agents (they send them); fetch them. */
  private async collectPeerEdges(): Promise<void> {
    await Promise.all(
      this.agents
        .filter((a) => a.alive)
        .map(async (a) => {
          const r = await a.request({ t: 'stats' }).catch(() => null);
          const v = r?.value as { sent: Record<string, number> } | undefined;
          if (v) this.peerSent.set(a.name, v.sent);
        }),
    );
  }

  /** Data messages per directed edge so far (`from→to`); probes and stats polls excluded. */
  async messages(): Promise<EdgeCounts> {
    await this.collectPeerEdges();
    const out: EdgeCounts = Object.fromEntries(this.edges);
    for (const [from, sent] of this.peerSent) {
      for (const [to, n] of Object.entries(sent)) {
        // What agents sent the coordinator is counted on arrival, here (it survives an agent's death).
        if (to === COORDINATOR) continue;
        const key = edgeKey(from, to);
        out[key] = (out[key] ?? 0) + n;
      }
    }
    return out;
  }

  statuses(): AgentStatus[] {
    return this.agents.map((a) => a.status());
  }

  /** Tell `onAgents` about the agents now, or (throttled) soon. */
  report(force = false): void {
    const onAgents = this.opts.onAgents;
    if (!onAgents) return;
    const every = this.opts.reportEveryMs ?? 250;
    const due = this.lastReport + every - Date.now();
    if (!force && due > 0) {
      // unref: a pending report never keeps a process alive on its own
      this.reportTimer ??= setTimeout(() => {
        this.reportTimer = null;
        this.report(true);
      }, due).unref();
      return;
    }
    if (this.reportTimer) clearTimeout(this.reportTimer);
    this.reportTimer = null;
    this.lastReport = Date.now();
    const statuses = this.statuses();
    const latency = this.latencyMs;
    this.reporting = this.reporting.then(() => onAgents(statuses, latency)).catch(() => undefined);
  }

  /** Stop every agent thread; the last report shows them stopped (or in error). */
  async close(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.stop()));
    this.report(true);
    await this.reporting;
  }
}

/**
 * Split a batch into `n` parts for mesh/ring peers. With priorities (the caller's cost estimate)
 * greedily by longest-first onto the least loaded part, so the peers finish together; without,
 * round-robin. Deterministic either way.
 */
export function partition<P>(tasks: SwarmTask<P>[], n: number): { index: number; kind: string; payload: P; label: string }[][] {
  const parts = Array.from({ length: n }, () => [] as { index: number; kind: string; payload: P; label: string }[]);
  const load = new Array<number>(n).fill(0);
  const weighted = tasks.some((t) => (t.priority ?? 0) > 0);
  const order = tasks.map((t, index) => ({ t, index }));
  if (weighted) order.sort((a, b) => (b.t.priority ?? 0) - (a.t.priority ?? 0) || a.index - b.index);
  order.forEach(({ t, index }, k) => {
    const target = weighted ? load.indexOf(Math.min(...load)) : k % n;
    load[target]! += Math.max(1, t.priority ?? 0);
    parts[target]!.push({ index, kind: t.kind, payload: t.payload, label: t.label });
  });
  return parts;
}
