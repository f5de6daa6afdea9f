import path from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { Worker, type MessagePort, type TransferListItem } from 'node:worker_threads';
import type { AgentState, AgentStatus, PipelinePhase } from '@agent-forge/contracts';
import { AgentLostError, AgentMemoryLimitError, SwarmError } from './errors';
import { COORDINATOR } from './topology';

const ENTRY = path.join(__dirname, '..', 'thread', 'agent.cjs');
const MB = 1024 * 1024;

export interface AgentSpec {
  /** Unique id (also the agent's name in links and edge counts). */
  id: string;
  role: string;
  phase: PipelinePhase;
  /** Heap cap of the agent's thread (V8 old generation), MB: enforced by V8, not declared. */
  memoryLimitMb: number;
  /** CommonJS (or, in development, TypeScript) module whose `exportName` is an object of task handlers. */
  module: string;
  exportName: string;
}

export interface Reply {
  ok: boolean;
  value?: unknown;
  error?: { name: string; message: string; code?: string };
  heap?: number;
  agent?: string;
}

/**
 * The coordinator's handle on one agent thread: request/reply over the parent port, the agent's
 * state and current task, and its measured figures — CPU as the thread's event-loop utilisation
 * between two samples (Node 20 has no per-thread CPU clock; a thread computing synchronously is
 * busy the whole time, so this is the share of wall time the thread spent working), heap as the
 * isolate's used heap reported by the thread with every answer.
 */
export class Agent {
  readonly worker: Worker;
  readonly started = performance.now();
  state: AgentState = 'idle';
  task: string | null = null;
  heapBytes = 0;
  failure: SwarmError | null = null;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  private lastElu: EventLoopUtilization | null = null;
  private cpu = 0;
  private nextId = 0;
  private readonly pending = new Map<string, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();

  constructor(readonly spec: AgentSpec) {
    const limit = spec.memoryLimitMb;
    this.worker = new Worker(ENTRY, {
      workerData: { name: spec.id, coordinator: COORDINATOR, module: spec.module, exportName: spec.exportName },
      resourceLimits: { maxOldGenerationSizeMb: limit, maxYoungGenerationSizeMb: Math.min(16, Math.max(1, Math.floor(limit / 8))) },
      stdout: false,
      stderr: false,
    });
    this.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (msg: { t: string }) => {
        if (msg.t !== 'ready') return;
        this.worker.off('message', onMessage);
        resolve();
      };
      this.worker.on('message', onMessage);
      this.worker.once('exit', () => reject(this.failure ?? new AgentLostError(spec.id, 'exited while starting')));
    });
    this.ready.catch(() => undefined);
    this.worker.on('message', (msg: Reply & { t: string; id?: string }) => {
      if (msg.t !== 'reply' || msg.id === undefined) return;
      if (typeof msg.heap === 'number') this.heapBytes = msg.heap;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      p.resolve(msg);
    });
    this.worker.on('error', (err: Error & { code?: string }) => {
      this.failure = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new AgentMemoryLimitError(spec.id, limit) : new AgentLostError(spec.id, err.message);
    });
    this.exited = new Promise<void>((resolve) =>
      this.worker.once('exit', () => {
        const why = this.failure ?? new AgentLostError(spec.id, 'thread exited');
        if (this.state !== 'stopped') this.state = this.failure ? 'error' : 'stopped';
        for (const p of this.pending.values()) p.reject(why);
        this.pending.clear();
        resolve();
      }),
    );
  }

  get name(): string {
    return this.spec.id;
  }

  get alive(): boolean {
    return this.state !== 'error' && this.state !== 'stopped';
  }

  /** Send a message and await the agent's reply to it. */
  request(msg: Record<string, unknown>, transfer: TransferListItem[] = []): Promise<Reply> {
    if (!this.alive) return Promise.reject(this.failure ?? new AgentLostError(this.name, 'stopped'));
    const id = `c:${this.nextId++}`;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  wire(links: { name: string; port: MessagePort }[], out: string[], inFrom: string[]): Promise<Reply> {
    return this.request({ t: 'wire', links, out, in: inFrom }, links.map((l) => l.port));
  }

  /** Busy share of the thread since the previous sample, percent. */
  sampleCpu(): number {
    if (!this.alive) return this.cpu;
    const now = this.worker.performance.eventLoopUtilization();
    const active = now.active - (this.lastElu?.active ?? 0);
    const idle = now.idle - (this.lastElu?.idle ?? 0);
    this.lastElu = now;
    // No time passed since the last sample: keep the last figure.
    if (active + idle > 0) this.cpu = Math.round(Math.min(1, Math.max(0, active / (active + idle))) * 10_000) / 100;
    return this.cpu;
  }

  status(): AgentStatus {
    return {
      agent_id: this.name,
      role: this.spec.role,
      phase: this.spec.phase,
      state: this.state,
      current_task: this.alive ? this.task : null,
      memory_usage_mb: Math.round((this.heapBytes / MB) * 100) / 100,
      cpu_usage_percent: this.sampleCpu(),
      uptime_seconds: Math.round(performance.now() - this.started) / 1000,
    };
  }

  async stop(): Promise<void> {
    if (this.alive) this.state = 'stopped';
    this.task = null;
    await this.worker.terminate();
    await this.exited;
  }
}
