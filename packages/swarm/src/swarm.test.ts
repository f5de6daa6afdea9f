import path from 'node:path';
import type { AgentStatus, SwarmTopology } from '@agent-forge/contracts';
import { Semaphore } from './semaphore';
import { Swarm, partition, type SwarmOptions } from './swarm';

const FIXTURES = path.join(__dirname, '..', 'test-fixtures', 'handlers.cjs');

function start(topology: SwarmTopology, agents: number, over: Partial<SwarmOptions> = {}): Promise<Swarm> {
  return Swarm.start({ phase: 'evomerge', topology, agents, memoryLimitMb: 32, module: FIXTURES, exportName: 'handlers', idPrefix: `t-${topology}`, concurrency: 2, ...over });
}

const squares = (n: number) => Array.from({ length: n }, (_, k) => ({ kind: 'square', payload: k, label: `square ${k}`, priority: k % 3 }));

/** Edges between agents (neither end the coordinator). */
const peerEdges = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([k]) => !k.includes('coordinator')));

describe('swarm', () => {
  const open: Swarm[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  const track = (s: Swarm) => {
    open.push(s);
    return s;
  };

  it('a task that exceeds its agent\'s heap limit fails with AGENT_MEMORY_LIMIT; only that agent dies, the other tasks complete', async () => {
    const s = track(await start('star', 3));
    const tasks = [...squares(3), { kind: 'hog', payload: null, label: 'hog' }, ...squares(4).map((t) => ({ ...t, payload: t.payload + 10 }))];
    const out = await s.map<number | null, number>(tasks);
    const hog = out[3]!;
    expect(hog.ok).toBe(false);
    expect(!hog.ok && hog.error.code).toBe('AGENT_MEMORY_LIMIT');
    const rest = out.filter((_, k) => k !== 3);
    expect(rest.map((o) => (o.ok ? o.value : o.error.code))).toEqual([0, 1, 4, 100, 121, 144, 169]);
    const states = s.statuses().map((a) => [a.agent_id, a.state]);
    expect(states.filter(([, st]) => st === 'error')).toEqual([[hog.agent, 'error']]);
    expect(states.filter(([, st]) => st === 'idle')).toHaveLength(2);
  });

  it('hierarchical: a team member over its limit fails only its task; the lead reports the real cause', async () => {
    const s = track(await start('hierarchical', 3));
    const out = await s.map<number | null, number>([...squares(2), { kind: "hog", payload: null, label: "hog" }, ...squares(3)]);
    expect(out.filter((o) => !o.ok).map((o) => !o.ok && o.error.code)).toEqual(['AGENT_MEMORY_LIMIT']);
    expect(out.filter((o) => o.ok)).toHaveLength(5);
  });

  it('a task that throws fails alone, with its own error code', async () => {
    const s = track(await start('star', 2));
    const out = await s.map<string | number, unknown>([{ kind: "fail", payload: "nope", label: "fail" }, ...squares(2)]);
    expect(out[0]).toMatchObject({ ok: false, error: { code: 'FIXTURE_FAILED', message: 'nope' } });
    expect(out.slice(1).every((o) => o.ok)).toBe(true);
  });

  it('star: every task goes coordinator→agent→coordinator; agents never talk to each other', async () => {
    const s = track(await start('star', 3));
    const out = await s.map<number, number>(squares(6));
    expect(out.map((o) => o.ok && o.value)).toEqual([0, 1, 4, 9, 16, 25]);
    const m = await s.messages();
    expect(peerEdges(m)).toEqual({});
    const names = s.agents.map((a) => a.name);
    expect(names.reduce((n, a) => n + (m[`coordinator→${a}`] ?? 0), 0)).toBe(6);
    expect(names.reduce((n, a) => n + (m[`${a}→coordinator`] ?? 0), 0)).toBe(6);
    // the work spreads over every agent, not only the pool's width
    expect(names.every((a) => (m[`coordinator→${a}`] ?? 0) >= 1)).toBe(true);
  });

  it('hierarchical: the coordinator talks only to the lead; the lead fans out by priority and gathers', async () => {
    const s = track(await start('hierarchical', 3));
    const out = await s.map<number, number>(squares(6));
    expect(out.map((o) => o.ok && o.value)).toEqual([0, 1, 4, 9, 16, 25]);
    const [lead, w1, w2] = s.agents.map((a) => a.name);
    expect(s.agents[0]!.spec.role).toBe('team-lead');
    const m = await s.messages();
    expect(m[`coordinator→${lead}`]).toBe(1);
    expect(m[`${lead}→coordinator`]).toBe(1);
    expect(m[`coordinator→${w1}`]).toBeUndefined();
    expect(m[`coordinator→${w2}`]).toBeUndefined();
    expect((m[`${lead}→${w1}`] ?? 0) + (m[`${lead}→${w2}`] ?? 0)).toBe(6);
    expect((m[`${w1}→${lead}`] ?? 0) + (m[`${w2}→${lead}`] ?? 0)).toBe(6);
    expect(m[`${w1}→${w2}`]).toBeUndefined();
  });

  it('hierarchical with one agent: the lead computes the batch itself', async () => {
    const s = track(await start('hierarchical', 1));
    expect((await s.map<number, number>(squares(3))).map((o) => o.ok && o.value)).toEqual([0, 1, 4]);
  });

  it('mesh rounds: every peer sends its result to every other peer, and starts the next round from theirs', async () => {
    const s = track(await start('mesh', 3));
    const r0 = await s.round<{ value: number; last: boolean }, { best: number; from: string[] }>(0, [0, 1, 2].map((i) => ({ kind: 'island', payload: { value: i * 10, last: false }, label: `island ${i}`, agent: i })));
    expect(r0.map((o) => o.ok && o.value.best)).toEqual([0, 10, 20]);
    const r1 = await s.round<{ value: number; last: boolean }, { best: number; from: string[] }>(1, [0, 1, 2].map((i) => ({ kind: 'island', payload: { value: 0, last: true }, label: `island ${i}`, agent: i })));
    // every island saw the best of the others (20 + 1), island 2 its peers' (10 + 1)
    expect(r1.map((o) => o.ok && o.value.best)).toEqual([21, 21, 11]);
    const names = s.agents.map((a) => a.name);
    const expected: Record<string, number> = {};
    for (const a of names) for (const b of names) if (a !== b) expected[`${a}→${b}`] = 1;
    expect(peerEdges(await s.messages())).toEqual(expected);
  });

  it('ring rounds: each agent sends only to the next one, which refines it', async () => {
    const s = track(await start('ring', 3));
    await s.round(0, [0, 1, 2].map((i) => ({ kind: 'island', payload: { value: i * 10, last: false }, label: `island ${i}`, agent: i })));
    const r1 = await s.round<{ value: number; last: boolean }, { best: number; from: string[] }>(1, [0, 1, 2].map((i) => ({ kind: 'island', payload: { value: 0, last: true }, label: `island ${i}`, agent: i })));
    const [a, b, c] = s.agents.map((x) => x.name);
    expect(r1.map((o) => o.ok && o.value)).toEqual([
      { best: 21, from: [c] },
      { best: 1, from: [a] },
      { best: 11, from: [b] },
    ]);
    expect(peerEdges(await s.messages())).toEqual({ [`${a}→${b}`]: 1, [`${b}→${c}`]: 1, [`${c}→${a}`]: 1 });
  });

  it('star and hierarchical refuse exchange rounds instead of running them another way', async () => {
    const s = track(await start('star', 2));
    await expect(s.round(0, [])).rejects.toMatchObject({ code: 'SWARM_TOPOLOGY' });
  });

  it('mesh batch: parts from the coordinator, results all-gathered peer to peer, the whole batch from the first peer', async () => {
    const s = track(await start('mesh', 3));
    const out = await s.map<number, number>(squares(7));
    expect(out.map((o) => o.ok && o.value)).toEqual([0, 1, 4, 9, 16, 25, 36]);
    const names = s.agents.map((a) => a.name);
    const expected: Record<string, number> = {};
    for (const a of names) for (const b of names) if (a !== b) expected[`${a}→${b}`] = 1;
    const m = await s.messages();
    expect(peerEdges(m)).toEqual(expected);
    for (const a of names) expect(m[`coordinator→${a}`]).toBe(2); // part + assemble
  });

  it('ring batch: results travel the ring once, each agent adding its own', async () => {
    const s = track(await start('ring', 3));
    const out = await s.map<number, number>(squares(5));
    expect(out.map((o) => o.ok && o.value)).toEqual([0, 1, 4, 9, 16]);
    const [a, b, c] = s.agents.map((x) => x.name);
    expect(peerEdges(await s.messages())).toEqual({ [`${a}→${b}`]: 1, [`${b}→${c}`]: 1 });
  });

  it('measures latency from real round trips and reports agents with measured figures', async () => {
    const reports: { agents: AgentStatus[]; latency: number | null }[] = [];
    const s = await start('ring', 2, { onAgents: (agents, latency) => void reports.push({ agents, latency }), reportEveryMs: 0 });
    expect(s.communicationLatencyMs).toBeGreaterThan(0);
    await s.map(squares(4));
    const live = s.statuses();
    expect(live).toHaveLength(2);
    for (const a of live) {
      expect(a.memory_usage_mb).toBeGreaterThan(0);
      expect(a.uptime_seconds).toBeGreaterThan(0);
      expect(a.cpu_usage_percent).toBeGreaterThanOrEqual(0);
      expect(a.cpu_usage_percent).toBeLessThanOrEqual(100);
      expect(a.role).toBe(a.agent_id.includes('fitness-evaluator') ? 'fitness-evaluator' : 'merge-operator');
    }
    await s.close();
    const last = reports[reports.length - 1]!;
    expect(last.agents.map((a) => a.state)).toEqual(['stopped', 'stopped']);
    expect(last.latency).toBeGreaterThan(0);
    expect(reports.some((r) => r.agents.some((a) => a.state === 'executing'))).toBe(true);
  });
});

describe('Semaphore', () => {
  it('never lets more than its size run at once', async () => {
    const pool = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const jobs = Array.from({ length: 5 }, () =>
      pool.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => gates.push(resolve));
        running--;
      }),
    );
    while (gates.length > 0 || running > 0) {
      await new Promise((r) => setImmediate(r));
      gates.shift()?.();
    }
    await Promise.all(jobs);
    expect(peak).toBe(2);
  });
});

describe('partition (mesh/ring batch parts)', () => {
  const t = (priority?: number) => ({ kind: 'k', payload: null, label: 'l', ...(priority === undefined ? {} : { priority }) });
  it('balances by the cost estimate, longest first', () => {
    const parts = partition([t(9), t(1), t(5), t(4), t(1)], 2);
    expect(parts.map((p) => p.map((x) => x.index))).toEqual([[0, 1], [2, 3, 4]]);
  });
  it('without estimates, round-robin', () => {
    expect(partition([t(), t(), t()], 2).map((p) => p.map((x) => x.index))).toEqual([[0, 2], [1]]);
  });
});
