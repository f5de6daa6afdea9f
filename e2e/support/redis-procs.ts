import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from './stack';

/**
 * Real `redis-server` processes for topology tests (Cluster, Sentinel): loopback only, free
 * ports, nothing saved, files in a temp dir; every process is killed and the dir removed by
 * `stop()`. Tests skip (with the reason) when the binaries are missing.
 */
const run = promisify(execFile);

export function which(binary: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/** Why topology tests cannot run here, or null when they can. */
export function missingRedisBinaries(): string | null {
  const missing = ['redis-server', 'redis-cli'].filter((b) => !which(b));
  return missing.length ? `${missing.join(' and ')} not installed (apt-get install redis-server)` : null;
}

export interface RedisProc {
  port: number;
  child: ChildProcess;
  output: string[];
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export class RedisProcs {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'af-redis-'));
  readonly procs: RedisProc[] = [];

  /** Start one redis-server (or sentinel with `sentinel: true`, which needs a writable config file). */
  async start(args: string[], opts: { sentinel?: boolean; configLines?: string[]; port?: number } = {}): Promise<RedisProc> {
    const port = opts.port ?? (await freePort());
    const base = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--logfile', ''];
    let argv: string[];
    if (opts.sentinel) {
      const conf = path.join(this.dir, `sentinel-${port}.conf`);
      writeFileSync(conf, `${(opts.configLines ?? []).join('\n')}\n`);
      argv = [conf, '--sentinel', '--port', String(port), '--bind', '127.0.0.1', '--dir', this.dir, ...args];
    } else {
      argv = [...base, ...args];
    }
    const child = spawn('redis-server', argv, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    const proc: RedisProc = {
      port,
      child,
      output,
      async kill(signal: NodeJS.Signals = 'SIGKILL') {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill(signal);
        await once(child, 'exit');
      },
    };
    this.procs.push(proc);
    await this.waitPing(proc);
    return proc;
  }

  async waitPing(proc: RedisProc, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (proc.child.exitCode !== null) throw new Error(`redis-server on ${proc.port} exited:\n${proc.output.join('')}`);
      if ((await cli(proc.port, ['PING']).catch(() => '')) === 'PONG') return;
      await sleep(50);
    }
    throw new Error(`redis-server on ${proc.port} did not answer PING:\n${proc.output.join('')}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.kill('SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One redis-cli command against 127.0.0.1:port; its trimmed output. */
export async function cli(port: number, args: string[], timeoutMs = 5_000): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: timeoutMs });
  return stdout.trim();
}

/** A 3-master Redis Cluster (no replicas) made with `redis-cli --cluster create`. */
export async function startCluster(procs: RedisProcs, masters = 3): Promise<number[]> {
  const nodes: RedisProc[] = [];
  for (let i = 0; i < masters; i++) {
    const busPort = await freePort();
    nodes.push(
      await procs.start(['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}-${process.pid}.conf`, '--cluster-port', String(busPort), '--cluster-node-timeout', '2000']),
    );
  }
  const ports = nodes.map((n) => n.port);
  await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const states = await Promise.all(ports.map((p) => cli(p, ['CLUSTER', 'INFO']).catch(() => '')));
    if (states.every((s) => s.includes('cluster_state:ok'))) return ports;
    if (Date.now() > deadline) throw new Error(`cluster did not converge:\n${states.join('\n')}`);
    await sleep(100);
  }
}

/** Master, one replica and `sentinels` sentinels watching it as `name`; returns their ports. */
export async function startSentinelSet(procs: RedisProcs, name = 'mymaster', sentinels = 3): Promise<{ master: number; replica: number; sentinels: number[] }> {
  const master = await procs.start([]);
  const replica = await procs.start(['--replicaof', '127.0.0.1', String(master.port)]);
  const quorum = Math.floor(sentinels / 2) + 1;
  const ports: number[] = [];
  for (let i = 0; i < sentinels; i++) {
    const s = await procs.start([], {
      sentinel: true,
      configLines: [
        `sentinel monitor ${name} 127.0.0.1 ${master.port} ${quorum}`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 10000`,
        `sentinel parallel-syncs ${name} 1`,
      ],
    });
    ports.push(s.port);
  }
  // The replica has synced and every sentinel knows the replica and the other sentinels.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const link = await cli(replica.port, ['INFO', 'replication']).catch(() => '');
    const views = await Promise.all(ports.map((p) => cli(p, ['SENTINEL', 'MASTER', name]).catch(() => '')));
    const knows = views.every((v) => /num-slaves\s+1/.test(v) && (sentinels === 1 || new RegExp(`num-other-sentinels\\s+${sentinels - 1}`).test(v)));
    if (link.includes('master_link_status:up') && knows) break;
    if (Date.now() > deadline) throw new Error(`sentinel set did not settle:\n${link}\n${views.join('\n---\n')}`);
    await sleep(100);
  }
  return { master: master.port, replica: replica.port, sentinels: ports };
}

/** The master address the sentinels currently report. */
export async function sentinelMaster(sentinelPort: number, name = 'mymaster'): Promise<number> {
  const out = await cli(sentinelPort, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]);
  return Number(out.split('\n')[1]);
}
