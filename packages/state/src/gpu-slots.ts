import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Keys } from './keys';
import { defineScripts, runScript } from './scripts';

/** A held GPU slot. Renewed in the background until released; `lost` fires if renewal fails. */
export interface GpuLease {
  readonly slot: string;
  readonly holder: string;
  /** Aborted when the lease could not be renewed (expired and possibly taken by another holder). */
  readonly lost: AbortSignal;
  /** Free the slot (idempotent; never frees a slot another holder has taken since). */
  release(): Promise<void>;
}

export interface GpuSlotsOptions {
  /** A lease not renewed for this long expires, freeing the slot of a crashed holder. */
  ttlMs: number;
  /** How often a held lease is renewed (default: a third of the TTL). */
  renewEveryMs?: number;
}

/**
 * The GPU slots of one worker, each guarded by a lease in Redis: a key holding the holder's token
 * with a TTL. Taking, renewing and freeing a lease are Lua scripts that check the token, so a
 * holder whose lease expired can never renew or free a slot someone else took since. A worker
 * that dies stops renewing; its slots come free when the TTL runs out.
 */
export class GpuSlots {
  private readonly renewEveryMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    /** Slot ids: a GPU's UUID when nvidia-smi reports one, else a name unique to the worker. */
    readonly slotIds: readonly string[],
    private readonly options: GpuSlotsOptions,
  ) {
    for (const id of slotIds) keys.gpuLease(id); // validates the id
    this.renewEveryMs = options.renewEveryMs ?? Math.max(100, Math.floor(options.ttlMs / 3));
    defineScripts(redis);
  }

  get count(): number {
    return this.slotIds.length;
  }

  /** Take the first free slot for `owner` (e.g. `<worker>/<job>`); null when every slot is held. */
  async acquire(owner: string): Promise<GpuLease | null> {
    const holder = `${owner}#${randomBytes(6).toString('hex')}`;
    for (const slot of this.slotIds) {
      const ok = await runScript<number>(this.redis, 'gpuLeaseAcquire', [this.keys.gpuLease(slot)], [holder, this.options.ttlMs]);
      if (ok === 1) return this.hold(slot, holder);
    }
    return null;
  }

  /** Who holds each slot right now (null: free). */
  async holders(): Promise<Record<string, string | null>> {
    if (this.slotIds.length === 0) return {};
    const values = await this.redis.mget(...this.slotIds.map((s) => this.keys.gpuLease(s)));
    return Object.fromEntries(this.slotIds.map((s, i) => [s, values[i] ?? null]));
  }

  private hold(slot: string, holder: string): GpuLease {
    const key = this.keys.gpuLease(slot);
    const lost = new AbortController();
    let released = false;
    const timer = setInterval(() => {
      runScript<number>(this.redis, 'gpuLeaseRenew', [key], [holder, this.options.ttlMs])
        .then((ok) => {
          if (ok !== 1 && !released) {
            clearInterval(timer);
            lost.abort(new Error(`GPU slot ${slot}: lease expired before it was renewed`));
          }
        })
        // A failed renewal (Redis unreachable) is retried at the next tick; the TTL is the bound.
        .catch(() => undefined);
    }, this.renewEveryMs);
    timer.unref();
    return {
      slot,
      holder,
      lost: lost.signal,
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        await runScript(this.redis, 'gpuLeaseRelease', [key], [holder]);
      },
    };
  }
}
