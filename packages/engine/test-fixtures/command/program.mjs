// A phase program for the command executor's tests: one behaviour per mode (argv[2]).
import { spawn } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const ctx = JSON.parse(readFileSync(process.env.AGENT_FORGE_CONTEXT, 'utf8'));
const send = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
// stdout to a pipe is asynchronous in Node: exit once what was written has been handed to the OS.
const exit = (code) => process.stdout.write('', () => process.exit(code));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const control = [];
readline.createInterface({ input: process.stdin }).on('line', (l) => control.push(l.trim()));

const mode = process.argv[2];

if (mode === 'flow') {
  const input = ctx.inputs.model ? readFileSync(ctx.inputs.model.path) : Buffer.alloc(0);
  send({ type: 'log', level: 'info', message: `hello from ${ctx.phase}` });
  process.stderr.write('warming up\nstill warming\n');
  send({ type: 'progress', percent: 50, message: 'half way', metrics: { seen: input.length } });
  process.stdout.write('this is not json\n');
  send({ type: 'progress', percent: 250 });
  send({ type: 'telemetry', value: 1 });
  send({ type: 'metric', name: 'input_bytes', value: input.length });
  send({ type: 'checkpoint', state: { step: 1 } });
  const out = path.join(ctx.output_dir, 'model.bin');
  writeFileSync(out, Buffer.concat([input, Buffer.from([42])]));
  send({ type: 'artifact', name: 'model', path: 'model.bin' });
  send({ type: 'artifact', name: 'stolen', path: '/etc/passwd' });
  send({ type: 'artifact', name: 'ctx', path: '../context.json' });
  symlinkSync('/etc/passwd', path.join(ctx.output_dir, 'innocent.txt'));
  send({ type: 'artifact', name: 'innocent', path: 'innocent.txt' });
  send({ type: 'result', metrics: { answer: 42, config_seen: ctx.config.knob ?? null, attempt: ctx.attempt } });
  send({ type: 'result', metrics: { answer: 0 } });
  process.exit(0);
}

if (mode === 'steps') {
  const steps = ctx.config.steps ?? 20;
  const stepMs = ctx.config.step_ms ?? 50;
  const start = ctx.resume_state?.step ?? 0;
  for (let step = start; step < steps; step++) {
    if (control.includes('pause')) {
      send({ type: 'checkpoint', state: { step, via: 'pause' } });
      process.exit(0);
    }
    if (control.includes('stop')) process.exit(0);
    await sleep(stepMs);
    send({ type: 'progress', percent: ((step + 1) / steps) * 100, metrics: { step: step + 1 } });
    send({ type: 'checkpoint', state: { step: step + 1 } });
  }
  send({ type: 'result', metrics: { steps_done: steps, started_at_step: start } });
  process.exit(0);
}

if (mode === 'stubborn') {
  // Ignores SIGTERM and stop, and so does the helper it forks: only SIGKILL of the group ends them.
  process.on('SIGTERM', () => {});
  const helper = spawn(process.execPath, ['-e', "process.on('SIGTERM',()=>{}); setInterval(()=>{}, 1000)"], { stdio: 'ignore' });
  send({ type: 'log', level: 'info', message: JSON.stringify({ pid: process.pid, helper: helper.pid }) });
  send({ type: 'progress', percent: 1 });
  setInterval(() => {}, 1000);
}

if (mode === 'hog') {
  const held = [];
  send({ type: 'progress', percent: 1 });
  for (;;) {
    held.push(Buffer.alloc(16 * 1024 * 1024, 1));
    await sleep(10);
  }
}

if (mode === 'crash') {
  process.stderr.write('loading weights\nValueError: shapes (3,4) and (5,6) not aligned\n');
  process.exit(3);
}

if (mode === 'no-result') {
  send({ type: 'progress', percent: 100 });
  process.exit(0);
}

if (mode === 'sleeper') {
  // Polite: ends on `stop`.
  send({ type: 'progress', percent: 1 });
  for (;;) {
    if (control.includes('stop')) process.exit(0);
    await sleep(10);
  }
}

if (mode === 'chatty') {
  // Many lines as fast as it can: the engine must take them all, in order, without buffering them all.
  const n = ctx.config.lines ?? 5000;
  for (let i = 1; i <= n; i++) send({ type: 'progress', percent: (100 * i) / n, metrics: { i } });
  send({ type: 'result', metrics: { lines: n } });
  exit(0);
}
