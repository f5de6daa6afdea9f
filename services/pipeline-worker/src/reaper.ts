import { rm } from 'node:fs/promises';
import type { FsArtifactStore } from '@agent-forge/engine';
import type { Logger } from '@agent-forge/runtime';
import { ALL_TENANTS, type SessionStore } from '@agent-forge/state';

export interface ReaperOptions {
  artifacts: FsArtifactStore;
  sessions: SessionStore;
  logger: Logger;
  intervalMs: number;
  /** A temp file older than this is a write that never finished. */
  tempFileAgeMs: number;
}

/**
 * Deletes what nothing owns any more: the artifacts of sessions whose keys have expired (Redis
 * expires the state; files need a sweeper) and temp files of writes interrupted by a crash.
 * Every worker may run it; deleting the same orphan twice is harmless.
 */
export class ArtifactReaper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ReaperOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.sweep().catch((err) => this.opts.logger.warn({ err }, 'artifact sweep failed'));
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  async sweep(): Promise<{ sessions: number; tempFiles: number }> {
    let sessions = 0;
    for (const sessionId of await this.opts.artifacts.topLevel()) {
      if (await this.opts.sessions.exists(sessionId, ALL_TENANTS)) continue;
      await this.opts.artifacts.deletePrefix(`${sessionId}/`);
      sessions++;
    }
    const temps = await this.opts.artifacts.staleTempFiles(this.opts.tempFileAgeMs);
    for (const p of temps) await rm(p, { force: true });
    if (sessions + temps.length > 0) this.opts.logger.info({ sessions, tempFiles: temps.length }, 'reaped orphaned artifacts');
    return { sessions, tempFiles: temps.length };
  }
}
