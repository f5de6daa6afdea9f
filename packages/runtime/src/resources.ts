import os from 'node:os';

/**
 * Measured process CPU: percent of one core used since the previous sample. The first call
 * measures since process start.
 */
export class CpuMeter {
  private lastUsage = process.cpuUsage();
  private lastTime = process.hrtime.bigint();
  private readonly startUsage = this.lastUsage;

  sample(): number {
    const usage = process.cpuUsage();
    const now = process.hrtime.bigint();
    const cpuMicros = usage.user - this.lastUsage.user + (usage.system - this.lastUsage.system);
    const wallMicros = Number(now - this.lastTime) / 1_000;
    this.lastUsage = usage;
    this.lastTime = now;
    if (wallMicros <= 0) return 0;
    return round2((cpuMicros / wallMicros) * 100);
  }

  /** Total CPU seconds this process used since the meter was made. */
  cpuSeconds(): number {
    const u = process.cpuUsage(this.startUsage);
    return (u.user + u.system) / 1e6;
  }
}

/** Host-wide CPU percent (all cores) since the previous sample, from /proc via os.cpus(). */
export class HostCpuMeter {
  private last = HostCpuMeter.totals();

  private static totals(): { idle: number; total: number } {
    let idle = 0;
    let total = 0;
    for (const cpu of os.cpus()) {
      const t = cpu.times;
      idle += t.idle;
      total += t.user + t.nice + t.sys + t.idle + t.irq;
    }
    return { idle, total };
  }

  sample(): number {
    const now = HostCpuMeter.totals();
    const dTotal = now.total - this.last.total;
    const dIdle = now.idle - this.last.idle;
    this.last = now;
    if (dTotal <= 0) return 0;
    return round2(((dTotal - dIdle) / dTotal) * 100);
  }
}

/** A reading this fresh is reused: each one is a syscall, and a busy worker asks many times a millisecond. */
const RSS_MAX_AGE_MS = 200;
let rssReading = { atMs: -Infinity, mb: 0 };

/** This process's resident memory (MB), read at most every RSS_MAX_AGE_MS. */
export function processMemoryMb(): number {
  const nowMs = performance.now();
  if (nowMs - rssReading.atMs >= RSS_MAX_AGE_MS) rssReading = { atMs: nowMs, mb: round2(process.memoryUsage.rss() / 1024 / 1024) };
  return rssReading.mb;
}

export function hostMemoryMb(): { total: number; available: number } {
  return { total: round2(os.totalmem() / 1024 / 1024), available: round2(os.freemem() / 1024 / 1024) };
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
