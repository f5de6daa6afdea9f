// Runs forge phases in-process at their default config (no Redis, no worker) and prints each
// phase's wall time and headline metrics: how long quick_test / full_pipeline compute takes.
// Build first: npx tsc -b packages/forge
// Run: node packages/forge/bench/run-pipeline.mjs [quick_test|full_pipeline] [--scale=N] [--seed=N] [--gates] [--swarm=TOPOLOGY[:MAX_AGENTS]]
// --swarm runs the phases with a session swarm (evomerge and adas then compute on agent threads);
// without it they compute in this thread, as outside a session.
// --gates also evaluates the quality-gate catalogue on each phase (re-running each phase once to
// measure reproducibility), which is how the default thresholds were calibrated.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
const require = createRequire(import.meta.url);
const { ForgeExecutor, decodeModel } = require('../dist/index.js');
const { evaluateGates } = require('../dist/gates.js');
const withGates = process.argv.includes('--gates');
const { FsArtifactStore } = require('@agent-forge/engine');
const { createLogger } = require('@agent-forge/runtime');
const { pipelineConfigSchema } = require('@agent-forge/contracts');

const preset = process.argv[2] ?? 'full_pipeline';
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const phases = preset === 'quick_test' ? ['cognate', 'evomerge'] : ['cognate', 'evomerge', 'quietstar', 'bitnet', 'training', 'baking', 'adas', 'compression'];
const raw = { executor: 'forge' };
if (arg('scale')) raw.scale = Number(arg('scale'));
if (arg('seed')) raw.seed = Number(arg('seed'));
const pipelineConfig = pipelineConfigSchema(phases).parse(raw);
const swarmArg = arg('swarm');
const swarm = swarmArg ? { topology: swarmArg.split(':')[0], maxAgents: Number(swarmArg.split(':')[1] ?? 50), agentMemoryLimitMb: 1024 } : undefined;
const root = mkdtempSync(path.join(tmpdir(), 'forge-bench-'));
const store = new FsArtifactStore(root);
const exec = new ForgeExecutor();
let previous = null;
const began = performance.now();
const rows = [];
let maxGapMs = 0;
for (const phase of phases) {
  const t0 = performance.now();
  let steps = 0;
  let last = performance.now();
  const ctx = {
    sessionId: 'bench', phase, config: pipelineConfig[phase], pipelineConfig, signal: new AbortController().signal,
    resumeState: null, attempt: 1, logger: createLogger('bench', 'silent'), artifacts: store, artifactPrefix: `bench/${phase}/`, previous,
    ...(swarm ? { swarm, agents: async () => {} } : {}),
    async progress() { steps++; const now = performance.now(); maxGapMs = Math.max(maxGapMs, now - last); last = now; },
  };
  // measure the longest stretch the event loop was blocked
  let loopGap = 0;
  let tick = performance.now();
  const timer = setInterval(() => { const now = performance.now(); loopGap = Math.max(loopGap, now - tick - 10); tick = now; }, 10);
  const r = await exec.run(ctx);
  clearInterval(timer);
  const seconds = (performance.now() - t0) / 1000;
  if (withGates) {
    const again = await exec.run({ ...ctx, artifactPrefix: `bench/${phase}-again/`, progress: async () => {} });
    const model = decodeModel(await store.get(r.artifacts.model));
    const evidence = { weights_finite: model.model.allFinite(), checksums_verified: true, reproducible: again.artifacts.model.sha256 === r.artifacts.model.sha256 };
    for (const g of evaluateGates(phase, r.metrics, evidence)) {
      console.log(`  gate ${g.passed ? 'PASS' : 'FAIL'} ${g.gate_name} (${g.blocking ? 'blocking' : 'advisory'}) score=${g.score} ${g.details.checks.map((c) => `${c.metric}=${typeof c.value === 'number' ? +c.value.toFixed(4) : c.value}${c.op}${c.threshold}`).join(' ')}`);
    }
  }
  previous = { phase, metrics: r.metrics, artifacts: r.artifacts ?? {} };
  const m = r.metrics;
  const pick = Object.fromEntries(Object.entries(m).filter(([k, v]) => typeof v !== 'object' || v === null).slice(0, 14));
  rows.push({ phase, seconds: +seconds.toFixed(2), progress_steps: steps, max_event_loop_block_ms: +loopGap.toFixed(1), metrics: pick });
  console.log(`${phase.padEnd(12)} ${seconds.toFixed(2).padStart(6)} s  steps=${steps}  max-loop-block=${loopGap.toFixed(0)}ms  ${JSON.stringify(pick)}`);
}
console.log(`${preset}: ${((performance.now() - began) / 1000).toFixed(2)} s total (${phases.length} phases, node ${process.version})`);
rmSync(root, { recursive: true, force: true });
