import { ConnectionQuota } from './connection-quota';
import { createTestRedis } from './test-support';

const t = createTestRedis('conn-quota');
afterAll(() => t.cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ConnectionQuota (per-tenant WebSocket connections across replicas)', () => {
  it('admits up to the limit across replicas, counts per tenant, and frees a slot on release', async () => {
    const a = new ConnectionQuota(t.redis, t.keys, 'replica-a', 60_000);
    const b = new ConnectionQuota(t.redis, t.keys, 'replica-b', 60_000);
    const first = await a.admit('acme', 'c1', 2);
    const second = await b.admit('acme', 'c2', 2);
    const third = await a.admit('acme', 'c3', 2);
    expect([first.admitted, second.admitted, third.admitted]).toEqual([true, true, false]);
    expect(third.open).toBe(2);
    // Another tenant has its own budget.
    expect((await b.admit('globex', 'c4', 2)).admitted).toBe(true);
    await a.release(first.lease);
    const again = await a.admit('acme', 'c3', 2);
    expect(again).toMatchObject({ admitted: true, open: 2 });
  });

  it("a dead replica's connections stop counting once their leases lapse; renewed ones go on counting", async () => {
    const dead = new ConnectionQuota(t.redis, t.keys, 'dead', 100);
    const liveShort = new ConnectionQuota(t.redis, t.keys, 'live', 100);
    const liveRenewer = new ConnectionQuota(t.redis, t.keys, 'live', 60_000);
    const held = await liveShort.admit('initech', 'l1', 2);
    expect((await dead.admit('initech', 'd1', 2)).admitted).toBe(true);
    expect((await liveShort.admit('initech', 'l2', 2)).admitted).toBe(false);
    await liveRenewer.renew([held.lease]); // the live replica renews (its renewal writes a 60 s lease)
    await sleep(250); // past the 100 ms leases
    const after = await liveShort.admit('initech', 'l2', 2);
    expect(after).toMatchObject({ admitted: true, open: 2 });
    expect(await t.redis.zrange(t.keys.tenantConnections('initech'), '0', '-1')).toEqual(['live/l2', 'live/l1']);
  });

  it('the key expires with its last lease, so an idle tenant leaves nothing behind', async () => {
    const q = new ConnectionQuota(t.redis, t.keys, 'r', 60_000);
    await q.admit('umbrella', 'x', 5);
    const ttl = await t.redis.pttl(t.keys.tenantConnections('umbrella'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});
