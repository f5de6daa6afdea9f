import { GpuSlots } from './gpu-slots';
import { runScript } from './scripts';
import { createTestRedis } from './test-support';

const t = createTestRedis('gpu-slots');
afterAll(() => t.cleanup());

async function until(ok: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('GPU slot leases (real Redis)', () => {
  it('one slot: a second holder waits until the first releases', async () => {
    const slots = new GpuSlots(t.redis, t.keys, ['w1.slot0'], { ttlMs: 10_000 });
    const a = await slots.acquire('w1/job-a');
    expect(a?.slot).toBe('w1.slot0');
    expect(await slots.acquire('w1/job-b')).toBeNull();
    expect((await slots.holders())['w1.slot0']).toBe(a!.holder);
    await a!.release();
    await a!.release(); // idempotent
    const b = await slots.acquire('w1/job-b');
    expect(b?.slot).toBe('w1.slot0');
    await b!.release();
    expect(await slots.holders()).toEqual({ 'w1.slot0': null });
  });

  it('two slots are handed out one each, with a TTL on every lease', async () => {
    const slots = new GpuSlots(t.redis, t.keys, ['GPU-aaaa', 'GPU-bbbb'], { ttlMs: 10_000 });
    const [a, b, c] = [await slots.acquire('x'), await slots.acquire('y'), await slots.acquire('z')];
    expect([a?.slot, b?.slot, c]).toEqual(['GPU-aaaa', 'GPU-bbbb', null]);
    const ttl = await t.redis.pttl(t.keys.gpuLease('GPU-aaaa'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10_000);
    await Promise.all([a!.release(), b!.release()]);
  });

  it('a lease left by a crashed holder (taken, never renewed) expires and the slot is taken again', async () => {
    const slots = new GpuSlots(t.redis, t.keys, ['crash.slot0'], { ttlMs: 10_000 });
    // The crashed worker: it took the lease with a short TTL and then died (no renewals, no release).
    expect(await runScript<number>(t.redis, 'gpuLeaseAcquire', [t.keys.gpuLease('crash.slot0')], ['dead-worker/job#1', 300])).toBe(1);
    expect(await slots.acquire('w2/job')).toBeNull();
    let lease: Awaited<ReturnType<GpuSlots['acquire']>> = null;
    await until(async () => (lease = await slots.acquire('w2/job')) !== null);
    expect(lease!.slot).toBe('crash.slot0');
    await lease!.release();
  });

  it('a live holder keeps its slot past the TTL by renewing it', async () => {
    const slots = new GpuSlots(t.redis, t.keys, ['renew.slot0'], { ttlMs: 300, renewEveryMs: 50 });
    const lease = (await slots.acquire('w3/long-phase'))!;
    await new Promise((r) => setTimeout(r, 900)); // three TTLs
    expect(lease.lost.aborted).toBe(false);
    expect(await slots.acquire('w3/other')).toBeNull();
    await lease.release();
  });

  it('a holder whose lease expired learns it (lost) and its late release does not free the new holder', async () => {
    const slow = new GpuSlots(t.redis, t.keys, ['lost.slot0'], { ttlMs: 200, renewEveryMs: 600 });
    const old = (await slow.acquire('w4/stalled'))!;
    const other = new GpuSlots(t.redis, t.keys, ['lost.slot0'], { ttlMs: 10_000 });
    let taken: Awaited<ReturnType<GpuSlots['acquire']>> = null;
    await until(async () => (taken = await other.acquire('w5/job')) !== null);
    await until(async () => old.lost.aborted);
    await old.release();
    expect((await other.holders())['lost.slot0']).toBe(taken!.holder);
    await taken!.release();
  });

  it('refuses slot ids that would break the Cluster hash tag', () => {
    expect(() => new GpuSlots(t.redis, t.keys, ['bad{id}'], { ttlMs: 1_000 })).toThrow(/braces/);
  });
});
