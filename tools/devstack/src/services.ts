import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { formatLogLine, type Terminal } from './ui';
import { DevstackError } from './redis';

export interface ServiceSpec {
  /** Short name: the log prefix and `.agent-forge/logs/<name>.log`. */
  name: string;
  /** Built entry point, relative to the repository root. */
  script: string;
  env: Record<string, string>;
  /** URL answering 2xx once the service is ready. */
  healthUrl: string;
  /** Terminal colour of the prefix (ANSI code). */
  color: number;
}

export type LogMode = 'file' | 'terminal';

/** Which lines reach the terminal: in `file` mode only warnings, errors and non-JSON stderr. */
export function showOnTerminal(mode: LogMode, level: number): boolean {
  return mode === 'terminal' || level >= 40;
}

/**
 * One service as a child process. Its stdout/stderr are read line by line: every line goes to
 * `.agent-forge/logs/<name>.log` as written, and (per the log mode) to the terminal, formatted and
 * prefixed with `[name]`. The child stays in our process group, so a group kill (Ctrl-C, or an
 * orchestrator's `kill -- -pgid`) always reaches it too.
 */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  private file: WriteStream | null = null;
  private readonly recent: string[] = [];
  private exitInfo: string | null = null;
  private exitPromise: Promise<void> = Promise.resolve();
  /** Set once the service logged that it is shutting down (it got a signal already). */
  shuttingDown = false;
  onUnexpectedExit: ((svc: ServiceProcess, how: string) => void) | null = null;
  expectingExit = false;

  constructor(
    readonly spec: ServiceSpec,
    private readonly root: string,
    private readonly term: Terminal,
    private readonly mode: LogMode,
  ) {}

  get logFile(): string {
    return path.join(this.root, '.agent-forge', 'logs', `${this.spec.name}.log`);
  }

  get running(): boolean {
    return this.child !== null && this.exitInfo === null;
  }

  get exitDescription(): string | null {
    return this.exitInfo;
  }

  /** The last lines the service printed (for error reports). */
  lastLines(n = 20): string[] {
    return this.recent.slice(-n);
  }

  start(): void {
    const script = path.join(this.root, this.spec.script);
    if (!existsSync(script)) {
      throw new DevstackError(`${this.spec.script} does not exist: build first (\`pnpm build\`; \`npm start\` does it for you).`);
    }
    this.file = createWriteStream(this.logFile, { flags: 'w' });
    const child = spawn(process.execPath, [script], {
      cwd: this.root,
      env: { ...process.env, ...this.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exitPromise = new Promise((resolve) => {
      // 'close' comes after the exit and after the last output line was read.
      child.on('close', (code, signal) => {
        this.exitInfo = signal ? `killed by ${signal}` : `exit code ${code}`;
        this.file?.end();
        if (!this.expectingExit) this.onUnexpectedExit?.(this, this.exitInfo);
        resolve();
      });
      child.on('error', (err) => {
        this.exitInfo = `could not start: ${err.message}`;
        this.file?.end();
        resolve();
      });
    });
    this.pipe(child.stdout!, false);
    this.pipe(child.stderr!, true);
  }

  private pipe(stream: NodeJS.ReadableStream, fromStderr: boolean): void {
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    rl.on('line', (raw) => {
      this.file?.write(`${raw}\n`);
      const line = formatLogLine(raw, fromStderr);
      this.recent.push(line.text);
      if (this.recent.length > 50) this.recent.shift();
      if (line.json && /shutting down/i.test(line.text)) this.shuttingDown = true;
      if (!showOnTerminal(this.mode, line.level)) return;
      const prefix = this.term.paint(this.spec.color, `[${this.spec.name}]`.padEnd(10));
      const text = line.level >= 50 ? this.term.red(line.text) : line.level >= 40 ? this.term.yellow(line.text) : line.text;
      this.term.line(`${prefix} ${text}`);
    });
  }

  /** Poll the health URL until it answers 2xx; fail early when the process exits. */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new DevstackError(
          `${this.spec.name} stopped while starting (${this.exitInfo ?? 'not started'}). Last lines of ${path.relative(this.root, this.logFile)}:\n  ${this.lastLines(15).join('\n  ')}`,
        );
      }
      try {
        const res = await fetch(this.spec.healthUrl, { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer();
        if (res.ok) return;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new DevstackError(
      `${this.spec.name} did not become healthy within ${Math.round(timeoutMs / 1000)} s (${this.spec.healthUrl}: ${last}). See ${path.relative(this.root, this.logFile)}.`,
    );
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child?.kill(signal);
  }

  /** Resolves true when the process exited within `ms`. */
  async waitExit(ms: number): Promise<boolean> {
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const exited = await Promise.race([this.exitPromise.then(() => true), timeout]);
    clearTimeout(timer);
    return exited;
  }
}

/**
 * Stop services gracefully. A terminal Ctrl-C or a process-group kill has already reached them
 * (same group), and a second signal makes a service skip its drain, so first give each a moment
 * to show it is shutting down (its log says so, or it exits); only the others get SIGTERM. Whatever
 * is still running after `graceMs` gets SIGKILL.
 */
export async function stopServices(services: ServiceProcess[], graceMs: number, noticeMs = 750): Promise<void> {
  for (const svc of services) svc.expectingExit = true;
  const alive = services.filter((s) => s.running);
  if (alive.length === 0) return;
  const noticeDeadline = Date.now() + noticeMs;
  while (Date.now() < noticeDeadline && alive.some((s) => s.running && !s.shuttingDown)) {
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const svc of alive) if (svc.running && !svc.shuttingDown) svc.signal('SIGTERM');
  await Promise.all(
    alive.map(async (svc) => {
      if (!(await svc.waitExit(graceMs))) {
        svc.signal('SIGKILL');
        await svc.waitExit(2_000);
      }
    }),
  );
}
