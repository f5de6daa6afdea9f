import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { ExecutorControlWord } from '@agent-forge/contracts';
import { withDeadline } from '@agent-forge/runtime';
import { LineSplitter } from './line-splitter';
import { processGroupRssMb, signalGroup } from './process-group';

export interface SupervisorOptions {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** RSS cap of the whole process group, MB. */
  memoryLimitMb: number;
  /** How often the group's RSS is read. */
  memoryPollMs: number;
  /** Longest stdout/stderr line kept; longer ones are dropped and reported. */
  maxLineBytes: number;
  onStdoutLine(line: string): void;
  onStdoutOverflow(prefix: string): void;
  onStderrLine(line: string): void;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The group's RSS went over the limit and the supervisor killed it. */
  memoryExceeded: boolean;
  /** Highest RSS of the group seen while it ran, MB (null where /proc is unavailable). */
  peakRssMb: number | null;
  /** The program could not be started at all (argv[0] not found, not executable …). */
  spawnError: string | null;
}

/** How long after the program's exit its pipes may stay open (a leaked grandchild) before we stop reading. */
const PIPE_DRAIN_MS = 2_000;

/**
 * One phase program as a process group of its own (spawned detached, so its pid is the group id):
 * every signal goes to the whole group, so helpers it forked die with it; its RSS (the group's)
 * is watched and the group killed past the limit; stdout/stderr arrive line by line.
 */
export class ProcessSupervisor {
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcessWithoutNullStreams;
  private done = false;
  private memoryExceeded = false;
  private peakRssMb: number | null = null;
  private pollInFlight: Promise<void> = Promise.resolve();
  private pollTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: SupervisorOptions) {
    const [file, ...args] = opts.argv;
    this.child = spawn(file!, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    // A program that exits (or closes stdin) before reading its control words is not an error.
    this.child.stdin.on('error', () => undefined);
    const out = new LineSplitter(opts.maxLineBytes, opts.onStdoutLine, opts.onStdoutOverflow);
    const err = new LineSplitter(opts.maxLineBytes, opts.onStderrLine, (prefix) => opts.onStderrLine(`${prefix}… (line too long, truncated)`));
    this.child.stdout.on('data', (c: Buffer) => out.push(c));
    this.child.stderr.on('data', (c: Buffer) => err.push(c));
    this.child.stdout.on('end', () => out.end());
    this.child.stderr.on('end', () => err.end());
    this.exited = this.watch();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Write one control word on the program's stdin (ignored once it is gone). */
  send(word: ExecutorControlWord): void {
    if (this.done || this.child.stdin.destroyed || !this.child.stdin.writable) return;
    this.child.stdin.write(`${word}\n`);
  }

  /**
   * Ask the program to end and make sure it does: the control word first, SIGTERM to the group
   * after half the grace period, SIGKILL at the end of it. Resolves when the program has exited.
   */
  async terminate(word: ExecutorControlWord, graceMs: number): Promise<ProcessExit> {
    this.send(word);
    if (!(await this.exitsWithin(graceMs / 2))) {
      this.signal('SIGTERM');
      if (!(await this.exitsWithin(graceMs / 2))) this.signal('SIGKILL');
    }
    return this.exited;
  }

  /**
   * Stop / restart reading stdout: backpressure for a program that writes lines faster than the
   * engine records them (the pipe fills and the program's writes block, as they would on a terminal).
   */
  holdOutput(hold: boolean): void {
    if (hold) this.child.stdout.pause();
    else this.child.stdout.resume();
  }

  /** SIGKILL the whole group now. */
  kill(): void {
    this.signal('SIGKILL');
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.child.pid !== undefined) signalGroup(this.child.pid, sig);
  }

  private async exitsWithin(ms: number): Promise<boolean> {
    if (this.done) return true;
    return withDeadline(this.exited, ms, 'program exit').then(
      () => true,
      () => false,
    );
  }


  private async watch(): Promise<ProcessExit> {
    const spawned = await new Promise<string | null>((resolve) => {
      this.child.once('spawn', () => resolve(null));
      this.child.once('error', (e) => resolve(e.message));
    });
    // Later errors (a failed kill of a process already gone) must not crash the worker.
    this.child.on('error', () => undefined);
    if (spawned !== null) {
      this.done = true;
      return { code: null, signal: null, memoryExceeded: false, peakRssMb: null, spawnError: spawned };
    }
    this.pollMemory();
    const closed = new Promise<void>((r) => this.child.once('close', () => r()));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => this.child.once('exit', (c, s) => r([c, s])));
    this.done = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    // A sample being read when the program exited was taken while it ran: it counts.
    await this.pollInFlight;
    // Whatever the program left running in its group goes with it.
    this.signal('SIGKILL');
    const drained = await withDeadline(closed, PIPE_DRAIN_MS, 'output pipes').then(
      () => true,
      () => false,
    );
    if (!drained) {
      this.child.stdout.destroy();
      this.child.stderr.destroy();
    }
    return { code, signal, memoryExceeded: this.memoryExceeded, peakRssMb: this.peakRssMb, spawnError: null };
  }

  private pollMemory(): void {
    const pid = this.child.pid!;
    const poll = async () => {
      if (this.done) return;
      const reading = processGroupRssMb(pid);
      this.pollInFlight = reading.then(() => undefined, () => undefined);
      const rss = await reading;
      if (rss === null) return; // no /proc: the limit cannot be measured here
      this.peakRssMb = Math.max(this.peakRssMb ?? 0, rss);
      if (this.done) return;
      if (rss > this.opts.memoryLimitMb) {
        this.memoryExceeded = true;
        this.signal('SIGKILL');
        return;
      }
      this.pollTimer = setTimeout(() => void poll(), this.opts.memoryPollMs);
    };
    void poll();
  }
}
