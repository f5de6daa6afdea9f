import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { PhaseQueues } from '@agent-forge/engine';
import { createTestRedis } from '@agent-forge/state';
import { parseAllDocuments } from 'yaml';
import { GatewayEnv } from '../../../services/gateway/src/config';
import { WorkerEnv } from '../../../services/pipeline-worker/src/config';
import { RealtimeEnv } from '../../../services/realtime/src/config';

/**
 * Offline checks of everything under deploy: the Kubernetes manifests (rendered like
 * `kubectl apply -k` would, validated against the Kubernetes and KEDA schemas, then
 * cross-checked), docker-compose.yml, the HAProxy config, the Dockerfile, and the image layout
 * `pnpm deploy --prod` produces. No Docker engine, no cluster, no network.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const run = promisify(execFile);
type Obj = Record<string, any>;

function yamlDocs(file: string): Obj[] {
  return parseAllDocuments(readFileSync(path.join(ROOT, file), 'utf8'), { merge: true })
    .map((d) => d.toJS({ maxAliasCount: 1000 }) as Obj)
    .filter((d) => d);
}

let report: { errors: string[]; rendered: Record<string, Obj[]> };
beforeAll(async () => {
  const out = await run(process.execPath, [path.join(ROOT, 'tools/deploy-check/validate.mjs')], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }).catch(
    (err: { stdout?: string }) => ({ stdout: err.stdout ?? '{"errors":["validate.mjs failed"],"rendered":{}}' }),
  );
  report = JSON.parse(out.stdout) as typeof report;
}, 60_000);

describe('k8s manifests', () => {
  it('every YAML file parses and every resource (per file and as each overlay renders) is valid against the Kubernetes/KEDA schemas', () => {
    expect(report.errors).toEqual([]);
    expect(Object.keys(report.rendered).sort()).toEqual(['base', 'overlays/dev', 'overlays/prod']);
  });

  describe.each(['overlays/dev', 'overlays/prod'])('%s', (overlay) => {
    const all = () => report.rendered[overlay] ?? [];
    const of = (kind: string) => all().filter((r) => r.kind === kind);
    const byName = (kind: string, name: string) => of(kind).find((r) => r.metadata.name === name);
    const deployments = () => of('Deployment').filter((d) => d.metadata.name !== 'redis');
    const env = (c: Obj, name: string) => (c.env ?? []).find((e: Obj) => e.name === name)?.value as string | undefined;
    const labelsMatch = (selector: Obj, labels: Obj) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);

    it('puts everything in one namespace', () => {
      const ns = of('Namespace')[0]?.metadata.name;
      expect(ns).toBeTruthy();
      expect(all().filter((r) => r.kind !== 'Namespace').every((r) => r.metadata.namespace === ns)).toBe(true);
    });

    it('Deployments: selectors match, requests/limits, three probes on the right paths, hardened pods, preStop + grace matched to the drain', () => {
      const expectedProbes: Record<string, [string, string, string]> = {
        gateway: ['/health/live', '/health/live', '/health/ready'],
        realtime: ['/health', '/health', '/ready'],
        'pipeline-worker': ['/health', '/health', '/health/ready'],
        'pipeline-worker-gpu': ['/health', '/health', '/health/ready'],
      };
      expect(deployments().map((d) => d.metadata.name).sort()).toEqual(
        overlay.endsWith('prod') ? ['gateway', 'pipeline-worker', 'pipeline-worker-gpu', 'realtime'] : ['gateway', 'pipeline-worker', 'realtime'],
      );
      for (const d of deployments()) {
        const name = d.metadata.name as string;
        const pod = d.spec.template.spec as Obj;
        expect(labelsMatch(d.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
        expect(pod.automountServiceAccountToken).toBe(false);
        const [c] = pod.containers as Obj[];
        expect(c).toBeDefined();
        expect(c!.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        for (const kind of ['requests', 'limits']) expect(Object.keys(c!.resources[kind]).sort()).toEqual(expect.arrayContaining(['cpu', 'memory']));
        const portNames = (c!.ports as Obj[]).map((p) => p.name);
        const probes = [c!.startupProbe, c!.livenessProbe, c!.readinessProbe] as Obj[];
        expect(probes.map((p) => p.httpGet.path)).toEqual(expectedProbes[name]);
        for (const p of probes) expect(portNames).toContain(p.httpGet.port);
        // Every mounted volume exists; the root filesystem is read-only, so /tmp is a volume.
        const volumes = (pod.volumes as Obj[]).map((v) => v.name);
        for (const m of c!.volumeMounts as Obj[]) expect(volumes).toContain(m.name);
        expect((c!.volumeMounts as Obj[]).map((m) => m.mountPath)).toContain('/tmp');
        // Drain: the pod gets preStop + SHUTDOWN_TIMEOUT_MS (+ margin) before SIGKILL.
        const preStop = Number(c!.lifecycle.preStop.exec.command[1]);
        const shutdownS = Number(env(c!, 'SHUTDOWN_TIMEOUT_MS')) / 1000;
        expect(preStop).toBeGreaterThan(0);
        expect(shutdownS).toBeGreaterThan(0);
        expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStop + shutdownS + 3);
        // Config and secrets come from the ConfigMap and the Secret.
        const refs = (c!.envFrom as Obj[]).map((e) => e.configMapRef?.name ?? e.secretRef?.name);
        expect(refs).toEqual(['agent-forge-config', 'agent-forge-secrets']);
        expect(byName('ConfigMap', 'agent-forge-config')).toBeDefined();
        if (overlay.endsWith('dev')) expect(byName('Secret', 'agent-forge-secrets')).toBeDefined();
        else expect(byName('Secret', 'agent-forge-secrets')).toBeUndefined(); // created out of band (README)
      }
    });

    it('Services, Ingress, HPA, KEDA and PDBs point at things that exist', () => {
      for (const s of of('Service')) {
        const target = all().find((d) => d.kind === 'Deployment' && labelsMatch(s.spec.selector, d.spec.template.metadata.labels));
        expect(target).toBeDefined();
        const ports = (target!.spec.template.spec.containers[0].ports as Obj[]).map((p) => p.name);
        for (const p of s.spec.ports as Obj[]) expect(ports).toContain(p.targetPort);
      }
      const ingressPaths: Record<string, string> = {};
      for (const ing of of('Ingress')) {
        expect(ing.spec.ingressClassName).toBe('nginx');
        const annotations = Object.keys(ing.metadata.annotations ?? {}).join(' ');
        expect(annotations).not.toMatch(/affinity|upstream-hash-by|session-cookie/); // no stickiness
        for (const rule of ing.spec.rules as Obj[]) {
          for (const p of rule.http.paths as Obj[]) {
            const svc = byName('Service', p.backend.service.name);
            expect(svc).toBeDefined();
            expect((svc!.spec.ports as Obj[]).map((x) => x.name)).toContain(p.backend.service.port.name);
            ingressPaths[p.path] = p.backend.service.name;
          }
        }
      }
      expect(ingressPaths).toEqual({ '/api': 'gateway', '/docs': 'gateway', '/openapi.json': 'gateway', '/dashboard': 'gateway', '/ws': 'realtime' });
      // WebSocket timeouts: far above the 25 s heartbeat of the realtime server.
      const ws = byName('Ingress', 'agent-forge-ws')!;
      expect(Number(ws.metadata.annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(3600);
      expect(Number(ws.metadata.annotations['nginx.ingress.kubernetes.io/proxy-send-timeout'])).toBeGreaterThanOrEqual(3600);

      for (const hpa of of('HorizontalPodAutoscaler')) {
        expect(byName('Deployment', hpa.spec.scaleTargetRef.name)).toBeDefined();
        expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
      }
      expect(of('HorizontalPodAutoscaler').map((h) => h.metadata.name).sort()).toEqual(['gateway', 'realtime']);
      for (const so of of('ScaledObject')) expect(byName('Deployment', so.spec.scaleTargetRef.name)).toBeDefined();
      if (overlay.endsWith('prod')) expect(of('ScaledObject').map((s) => s.metadata.name).sort()).toEqual(['pipeline-worker', 'pipeline-worker-gpu']);
      for (const pdb of of('PodDisruptionBudget')) {
        const hit = deployments().filter((d) => labelsMatch(pdb.spec.selector.matchLabels, d.spec.template.metadata.labels));
        expect(hit).toHaveLength(1);
      }
      expect(of('PodDisruptionBudget')).toHaveLength(deployments().length);
    });

    it('NetworkPolicies: default deny, only gateway/realtime from the ingress controller, only our pods to Redis', () => {
      const deny = byName('NetworkPolicy', 'agent-forge-default-deny-ingress')!;
      expect(deny.spec.ingress).toBeUndefined();
      for (const d of deployments()) expect(labelsMatch(deny.spec.podSelector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
      const fromIngress = byName('NetworkPolicy', 'agent-forge-from-ingress')!;
      expect(fromIngress.spec.podSelector.matchExpressions[0].values.sort()).toEqual(['gateway', 'realtime']);
      const redisPolicy = byName('NetworkPolicy', 'redis-from-agent-forge');
      if (overlay.endsWith('dev')) {
        const allowed = redisPolicy!.spec.ingress[0].from[0].podSelector.matchLabels as Obj;
        for (const d of deployments()) expect(labelsMatch(allowed, d.spec.template.metadata.labels)).toBe(true);
      }
    });

    it('GPU workers: nvidia.com/gpu limits, a GPU node selector, only the GPU phase; CPU workers leave it to them', () => {
      if (!overlay.endsWith('prod')) return;
      const gpu = byName('Deployment', 'pipeline-worker-gpu')!.spec.template.spec as Obj;
      expect(gpu.containers[0].resources.limits['nvidia.com/gpu']).toBe(1);
      expect(gpu.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
      expect(env(gpu.containers[0], 'WORKER_PHASES')).toBe('training');
      // As many GPU slots as GPUs requested; training needs a GPU in this overlay (shared ConfigMap).
      expect(env(gpu.containers[0], 'WORKER_GPUS')).toBe(String(gpu.containers[0].resources.limits['nvidia.com/gpu']));
      const cm = byName('ConfigMap', 'agent-forge-config')!.data as Record<string, string>;
      expect(cm.GPU_PHASES).toBe('training');
      expect(cm.WORKER_GPUS).toBe('auto'); // CPU workers: auto = 0 on nodes without a GPU
      const cpuPhases = env(byName('Deployment', 'pipeline-worker')!.spec.template.spec.containers[0], 'WORKER_PHASES')!.split(',');
      expect(cpuPhases).not.toContain('training');
      expect(cpuPhases).toHaveLength(7);
      for (const d of [gpu, byName('Deployment', 'pipeline-worker')!.spec.template.spec]) {
        expect((d.volumes as Obj[]).find((v) => v.name === 'artifacts')).toEqual({ name: 'artifacts', persistentVolumeClaim: { claimName: 'agent-forge-artifacts' } });
      }
      expect(byName('PersistentVolumeClaim', 'agent-forge-artifacts')!.spec.accessModes).toEqual(['ReadWriteMany']);
    });
  });

  it("KEDA's list names are BullMQ's real waiting lists (a job enqueued with no worker sits in exactly that Redis list)", async () => {
    const scaled = [...yamlDocs('k8s/components/keda-autoscaling/scaledobject.yaml'), ...yamlDocs('k8s/components/gpu-worker/scaledobject.yaml')].filter(
      (d) => d.kind === 'ScaledObject',
    );
    const lists = scaled.flatMap((s) => (s.spec.triggers as Obj[]).map((t) => t.metadata.listName as string));
    // every phase queue: 7 CPU phases + training (plain and GPU queue) on the GPU workers
    expect(lists).toHaveLength(9);
    const t = createTestRedis('keda');
    // As in overlays/prod: training needs a GPU.
    const queues = new PhaseQueues(t.redis, t.keys, { gpuPhases: ['training'] });
    try {
      await queues.enqueue({ sessionId: 'keda-check', phase: 'training', runGen: 1 }, {});
      await queues.enqueue({ sessionId: 'keda-check-cpu', phase: 'training', runGen: 1 }, { training: { gpu: false } });
      for (const suffix of ['phase-training-gpu:wait', 'phase-training:wait']) {
        const key = lists.find((l) => l.endsWith(suffix))!.replace(/^af:/, `${t.prefix}:`);
        expect(await t.redis.llen(key)).toBe(1);
        expect(await t.redis.type(key)).toBe('list');
      }
    } finally {
      await queues.close();
      await t.cleanup();
    }
  });
});

describe('configuration coverage', () => {
  const configMap = yamlDocs('k8s/base/configmap.yaml')[0]!.data as Record<string, string>;
  const secretKeys = Object.keys(yamlDocs('k8s/base/secret.example.yaml')[0]!.stringData as Obj);
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const compose = yamlDocs('docker-compose.yml')[0]!;
  /** Per-pod values set on the Deployments / by compose instead of the shared ConfigMap. */
  const perPod = new Set(['GATEWAY_HOST', 'GATEWAY_PORT', 'REALTIME_HOST', 'REALTIME_PORT', 'WORKER_HEALTH_HOST', 'WORKER_HEALTH_PORT', 'WORKER_ID', 'SHUTDOWN_TIMEOUT_MS']);

  describe.each([
    ['gateway', GatewayEnv],
    ['realtime', RealtimeEnv],
    ['pipeline-worker', WorkerEnv],
  ])('%s', (name, schema) => {
    const deployment = yamlDocs(`k8s/base/${name}.yaml`).find((d) => d.kind === 'Deployment')!;
    const podEnv = new Set(((deployment.spec.template.spec.containers[0].env ?? []) as Obj[]).map((e) => e.name as string));
    it.each(Object.keys(schema.shape))('%s is in the ConfigMap, the Secret or the Deployment, and in the README', (variable) => {
      const inK8s = variable in configMap || secretKeys.includes(variable) || (perPod.has(variable) && podEnv.has(variable));
      expect({ variable, inK8s }).toEqual({ variable, inK8s: true });
      expect(readme).toContain(`\`${variable}\``);
    });
  });

  describe.each(['overlays/dev', 'overlays/prod'])('%s: what a pod really gets', (overlay) => {
    const schemas: Record<string, { safeParse(env: unknown): { success: boolean; error?: { issues: unknown[] } } }> = {
      gateway: GatewayEnv,
      realtime: RealtimeEnv,
      'pipeline-worker': WorkerEnv,
      'pipeline-worker-gpu': WorkerEnv,
    };
    it('every service parses its config from the ConfigMap + Secret + Deployment env (the values are valid, not only present)', () => {
      const rendered = report.rendered[overlay] ?? [];
      const cm = rendered.find((r) => r.kind === 'ConfigMap' && r.metadata.name === 'agent-forge-config')!.data as Record<string, string>;
      const secret = (rendered.find((r) => r.kind === 'Secret')?.stringData ?? yamlDocs('k8s/base/secret.example.yaml')[0]!.stringData) as Record<string, string>;
      const deployments = rendered.filter((r) => r.kind === 'Deployment' && schemas[r.metadata.name]);
      expect(deployments.length).toBeGreaterThanOrEqual(3);
      for (const d of deployments) {
        const env: Record<string, string> = { ...cm, ...secret };
        for (const e of (d.spec.template.spec.containers[0].env ?? []) as Obj[]) if (typeof e.value === 'string') env[e.name] = e.value;
        const parsed = schemas[d.metadata.name]!.safeParse(env);
        expect({ deployment: d.metadata.name, issues: parsed.success ? [] : parsed.error?.issues }).toEqual({ deployment: d.metadata.name, issues: [] });
      }
    });
  });

  it('the Secret holds the credentials (REDIS_URL, JWT_SECRET) and the ConfigMap none', () => {
    expect(secretKeys).toEqual(expect.arrayContaining(['REDIS_URL', 'JWT_SECRET', 'REDIS_SENTINEL_PASSWORD']));
    // (JWT_SECRET_FILE is a path to a mounted secret, not a secret.)
    expect(Object.keys(configMap).filter((k) => /PASSWORD|SECRET|REDIS_URL/.test(k) && !k.endsWith('_FILE'))).toEqual([]);
  });

  it('compose gives every app service REDIS_URL and its listen address', () => {
    const env = (svc: string) => compose.services[svc].environment as Record<string, string>;
    for (const svc of ['gateway-1', 'gateway-2']) expect(env(svc)).toMatchObject({ REDIS_URL: 'redis://redis:6379', GATEWAY_HOST: '0.0.0.0' });
    for (const svc of ['realtime-1', 'realtime-2']) expect(env(svc)).toMatchObject({ REDIS_URL: 'redis://redis:6379', REALTIME_HOST: '0.0.0.0' });
    expect(env('pipeline-worker')).toMatchObject({ REDIS_URL: 'redis://redis:6379', WORKER_HEALTH_HOST: '0.0.0.0' });
  });
});

describe('docker-compose.yml', () => {
  const compose = yamlDocs('docker-compose.yml')[0]!;
  const services = compose.services as Record<string, Obj>;

  it('Redis with AOF on a volume; 2 gateways, 2 realtime, 2 workers; HAProxy with the repo config', () => {
    expect(services.redis!.command.join(' ')).toMatch(/--appendonly yes/);
    expect(services.redis!.volumes).toEqual(['redis-data:/data']);
    expect(compose.volumes).toHaveProperty('redis-data');
    expect(Object.keys(services).filter((s) => s.startsWith('gateway-'))).toHaveLength(2);
    expect(Object.keys(services).filter((s) => s.startsWith('realtime-'))).toHaveLength(2);
    expect(services['pipeline-worker']!.deploy.replicas).toBe(2);
    expect(services.lb!.image).toMatch(/^haproxy:\d+\.\d+\.\d+/);
    expect(services.lb!.volumes).toContain('./deploy/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    // every variable the HAProxy config reads is set for the lb service
    const cfg = readFileSync(path.join(ROOT, 'deploy/haproxy/haproxy.cfg'), 'utf8');
    const vars = [...cfg.matchAll(/"\$\{([A-Z0-9_]+)\}"/g)].map((m) => m[1]!);
    expect(vars.length).toBeGreaterThanOrEqual(5);
    for (const v of vars) expect(services.lb!.environment).toHaveProperty(v);
    // the LB points at the compose services on their ports
    expect(services.lb!.environment).toMatchObject({ GATEWAY_1: 'gateway-1:8081', GATEWAY_2: 'gateway-2:8081', REALTIME_1: 'realtime-1:8082', REALTIME_2: 'realtime-2:8082' });
  });

  it('app containers: built from the Dockerfile targets, read-only, uid 1000, no capabilities, Redis healthy first', () => {
    for (const [name, svc] of Object.entries(services)) {
      if (name === 'redis' || name === 'lb') continue;
      expect(svc.build.context).toBe('.');
      expect(['gateway', 'realtime', 'pipeline-worker']).toContain(svc.build.target);
      expect(svc).toMatchObject({ read_only: true, user: '1000:1000', cap_drop: ['ALL'] });
      expect(svc.depends_on.redis.condition).toBe('service_healthy');
    }
  });
});

describe('HAProxy config', () => {
  const cfg = readFileSync(path.join(ROOT, 'deploy/haproxy/haproxy.cfg'), 'utf8');
  it('round-robin, no stickiness, WebSocket tunnel timeout, health-checked backends', () => {
    expect(cfg.match(/^\s*balance roundrobin$/gm)).toHaveLength(2);
    expect(cfg).not.toMatch(/^\s*(cookie|stick|hash-type|balance source)/m);
    expect(cfg).toMatch(/timeout tunnel 1h/);
    expect(cfg).toMatch(/uri \/health\/ready/);
    expect(cfg).toMatch(/uri \/ready/);
  });
  const haproxy = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy'].find((p) => existsSync(p));
  (haproxy ? it : it.skip)(`haproxy -c accepts it${haproxy ? '' : ' (skipped: haproxy not installed)'}`, () => {
    const out = execFileSync(haproxy!, ['-c', '-f', path.join(ROOT, 'deploy/haproxy/haproxy.cfg')], {
      env: { ...process.env, LB_BIND: '127.0.0.1:65535', GATEWAY_1: '127.0.0.1:1', GATEWAY_2: '127.0.0.1:2', REALTIME_1: '127.0.0.1:3', REALTIME_2: '127.0.0.1:4' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toMatch(/valid/);
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const lines = text.split('\n').filter((l) => !l.trim().startsWith('#'));
  const args = Object.fromEntries([...text.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
  const stages: Array<{ from: string; name: string; body: string[] }> = [];
  for (const line of lines) {
    const m = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (m) stages.push({ from: m[1]!, name: m[2] ?? '', body: [] });
    else stages[stages.length - 1]?.body.push(line);
  }
  const chain = (name: string): string[] => {
    const stage = stages.find((s) => s.name === name);
    if (!stage) return [];
    return [...chain(stage.from), ...stage.body];
  };

  it('pins the base image by version (no latest), and says how to pin the digest', () => {
    const external = stages.map((s) => s.from.replace(/^\$\{(\w+)\}$/, (_m, a: string) => args[a] ?? '')).filter((f) => !stages.some((s) => s.name === f));
    expect(external.length).toBeGreaterThan(0);
    for (const image of external) expect(image).toMatch(/^[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?$/);
    expect(text).toMatch(/@sha256:/); // the digest-pinning note
  });

  it.each(['gateway', 'realtime', 'pipeline-worker'])('target %s: only production deps (pnpm deploy --prod), non-root, tini, HEALTHCHECK', (svc) => {
    expect(text).toContain(`pnpm deploy --filter @agent-forge/${svc} --prod`);
    const body = chain(svc);
    expect(body.length).toBeGreaterThan(0);
    const users = body.filter((l) => /^USER\s/.test(l)).map((l) => l.replace(/^USER\s+/, '').trim());
    expect(users[users.length - 1]).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/); // last USER is a numeric non-root uid
    expect(body.some((l) => /^HEALTHCHECK\s/.test(l))).toBe(true);
    expect(body.join('\n')).toMatch(/ENTRYPOINT \["\/usr\/bin\/tini", "--"\]/);
    expect(body.join('\n')).toMatch(/CMD \["node", "dist\/main.js"\]/);
    expect(body.join('\n')).toMatch(/HEALTH_URL=http:\/\/127\.0\.0\.1:\d+\//);
  });

  it('.dockerignore keeps node_modules, dist and local state out of the build context', () => {
    const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8');
    for (const entry of ['**/node_modules', '**/dist', '.git', '.agent-forge']) expect(ignore).toContain(entry);
  });
});

describe('the image layout (pnpm deploy --prod, as the Dockerfile runs it)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'af-deploy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** `pnpm deploy --prod` of one service into `dir/<service>`, with the pinned pnpm (found as scripts/bootstrap.cjs finds it: on PATH at that version, else via npx). */
  async function deployLayout(service: string): Promise<void> {
    const version = /pnpm@([\d.]+)/.exec((JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { packageManager: string }).packageManager)![1]!;
    let onPath = '';
    try {
      onPath = execFileSync('pnpm', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      // not on PATH
    }
    const [cmd, ...lead] = onPath === version ? ['pnpm'] : ['npx', '--yes', `pnpm@${version}`];
    await run(cmd!, [...lead, 'deploy', '--filter', `@agent-forge/${service}`, '--prod', '--offline', path.join(dir, service)], {
      cwd: ROOT,
      timeout: 90_000,
      env: { ...process.env, COREPACK_ENABLE_DOWNLOAD_PROMPT: '0', npm_config_yes: 'true' },
    });
  }

  it('pipeline-worker: the files it loads from outside dist/ travel with it (phase thread entry, swarm agent thread, Lua scripts)', async () => {
    await deployLayout('pipeline-worker');
    // A package's `files` decides what `pnpm deploy` copies: a run-time file left out of it is
    // missing from the image only (the workspace has it), and the forge phases fail there.
    const store = path.join(dir, 'pipeline-worker', 'node_modules', '.pnpm');
    const inPackage = (name: string, rel: string): boolean =>
      readdirSync(store)
        .filter((d) => d.startsWith(`@agent-forge+${name}@`))
        .some((d) => existsSync(path.join(store, d, 'node_modules', '@agent-forge', name, rel)));
    for (const [pkg, rel] of [
      ['engine', 'thread/entry.cjs'],
      ['swarm', 'thread/agent.cjs'],
      ['state', 'lua/startPhase-11.lua'],
      ['state', 'lua/includes'],
      ['forge', 'dist/index.js'],
    ] as const) {
      expect({ file: `${pkg}/${rel}`, present: inPackage(pkg, rel) }).toEqual({ file: `${pkg}/${rel}`, present: true });
    }
  }, 90_000);

  it('gateway: no dev dependencies, and `node dist/main.js` serves /health/live, /metrics and the dashboard from it', async () => {
    await deployLayout('gateway');
    const app = path.join(dir, 'gateway');
    expect(readdirSync(app).sort()).toEqual(expect.arrayContaining(['dist', 'node_modules', 'package.json']));
    expect(existsSync(path.join(app, 'src'))).toBe(false);
    // (@types/jsonwebtoken and @types/node do arrive: jwks-rsa declares them as runtime dependencies.)
    const packages = new Set(readdirSync(path.join(app, 'node_modules', '.pnpm')).map((d) => d.replace(/@[^@]*$/, '')));
    for (const dev of ['jest', '@swc+core', 'supertest', '@types+jest', '@types+supertest', '@types+express', 'ws']) expect({ dev, present: packages.has(dev) }).toEqual({ dev, present: false });
    // The one exception, pruned by the Dockerfile (see there): an optional peer pnpm fills from the root.
    execFileSync('sh', ['-c', 'rm -rf node_modules/.pnpm/typescript@* node_modules/.pnpm/@typescript+*'], { cwd: app });

    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const t = createTestRedis('image');
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: app,
      env: { PATH: process.env.PATH, REDIS_URL: t.url, AF_KEY_PREFIX: t.prefix, GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: String(port), LOG_LEVEL: 'warn', JWT_SECRET: 'image-layout-test-secret-0123456789abcdef' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    try {
      let live = 0;
      for (let i = 0; i < 100 && live !== 200; i++) {
        live = await fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.status, () => 0);
        if (live !== 200) await sleep(100);
      }
      expect({ live, output: live === 200 ? '' : output.join('') }).toEqual({ live: 200, output: '' });
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(/process_cpu_seconds_total\{service="gateway"\}/);
      expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
      // The dashboard's built files travel with the gateway (its only run-time part is dist/).
      const dashboard = await fetch(`http://127.0.0.1:${port}/dashboard/dashboard.js`);
      expect(dashboard.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
      await t.cleanup();
    }
  }, 90_000);
});
