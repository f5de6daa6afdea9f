#!/usr/bin/env node
// Per-row symmetric k-bit quantization as an Agent Forge command executor (Node 20, no packages).
//
// Reads the previous phase's `model` input and snaps every weight matrix row to 2^(bits-1)-1
// positive and negative levels scaled by the row's largest |w| (round to nearest). The file keeps
// the f32 container (so every phase can read it) but each row really holds at most 2^bits - 1
// distinct values, which the deflated payload shows in its size. Every reported number is measured:
// distinct levels are counted, errors computed against the input, sizes are the files' byte sizes.
// Quality on data is left to the engine, which re-evaluates the output model itself.
//
// Config (`config.<phase>`): bits (2..8, default 4).
// Protocol: start context from $AGENT_FORGE_CONTEXT; JSON lines on stdout; `pause`/`stop` on stdin.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { load, save } from './afmodel.mjs';

const MB = 1024 * 1024;
const KEEP_DENSE = new Set(['embed', 'thought.tokens']);
const send = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
const control = { pause: false, stop: false };
readline.createInterface({ input: process.stdin }).on('line', (l) => {
  if (l.trim() in control) control[l.trim()] = true;
});
// Control words arrive between tensors: give the event loop a turn to read them.
const yieldToControl = () => new Promise((r) => setImmediate(r));

const ctx = JSON.parse(readFileSync(process.env.AGENT_FORGE_CONTEXT, 'utf8'));
if (!ctx.inputs.model) {
  process.stderr.write('quantize.mjs needs a previous phase that produced a `model` artifact\n');
  process.exit(2);
}
const bits = Number(ctx.config.bits ?? 4);
if (!Number.isInteger(bits) || bits < 2 || bits > 8) {
  process.stderr.write(`bits must be an integer in 2..8, got ${ctx.config.bits}\n`);
  process.exit(2);
}
const levels = 2 ** (bits - 1) - 1;

/** Quantizes a [rows, cols] matrix in place, row by row; returns its error figures. */
function quantize(t, rows, cols) {
  let absErr = 0;
  let maxErr = 0;
  let maxDistinct = 0;
  for (let r = 0; r < rows; r++) {
    const row = t.subarray(r * cols, (r + 1) * cols);
    let amax = 0;
    for (const v of row) amax = Math.max(amax, Math.abs(v));
    const scale = amax / levels || 1;
    const distinct = new Set();
    for (let i = 0; i < cols; i++) {
      const q = Math.round(row[i] / scale) * scale;
      const err = Math.abs(row[i] - Math.fround(q));
      absErr += err;
      maxErr = Math.max(maxErr, err);
      row[i] = q;
      distinct.add(row[i]);
    }
    maxDistinct = Math.max(maxDistinct, distinct.size);
  }
  return { absErr, maxErr, maxDistinct };
}

const src = ctx.inputs.model.path;
const { header, tensors } = load(src);
const targets = header.tensors.filter((e) => e.shape.length === 2 && !KEEP_DENSE.has(e.name));
// Quantization is deterministic: the checkpoint is the number of matrices done, and a restart
// redoes those from the input rather than carrying weights in the checkpoint.
const resumedFrom = Number(ctx.resume_state?.tensors_done ?? 0);
send({ type: 'log', level: 'info', message: `quantizing ${targets.length} matrices of ${src} to ${bits} bits; resuming at ${resumedFrom}` });

let absErr = 0;
let maxErr = 0;
let maxDistinct = 0;
let count = 0;
let endedEarly = false;
for (const [i, e] of targets.entries()) {
  await yieldToControl();
  if (i >= resumedFrom && control.pause) {
    send({ type: 'checkpoint', state: { tensors_done: i } });
    endedEarly = true;
    break;
  }
  if (control.stop) {
    endedEarly = true;
    break;
  }
  const q = quantize(tensors.get(e.name), e.shape[0], e.shape[1]);
  absErr += q.absErr;
  maxErr = Math.max(maxErr, q.maxErr);
  maxDistinct = Math.max(maxDistinct, q.maxDistinct);
  count += e.shape[0] * e.shape[1];
  if (i >= resumedFrom) {
    send({ type: 'progress', percent: (90 * (i + 1)) / targets.length, message: `quantized ${e.name}`, metrics: { tensors_done: i + 1 } });
    send({ type: 'checkpoint', state: { tensors_done: i + 1 } });
  }
}

if (!endedEarly) {
  const out = path.join(ctx.output_dir, 'model.bin');
  save(out, header, tensors, { ...header.meta, quantized_by: 'examples/executors/quantize.mjs', bits });
  send({ type: 'artifact', name: 'model', path: 'model.bin' });
  const inBytes = statSync(src).size;
  const outBytes = statSync(out).size;
  send({
    type: 'result',
    metrics: {
      bits,
      tensors_quantized: targets.length,
      weights_quantized: count,
      max_distinct_values_per_row: maxDistinct,
      mean_abs_error: count ? absErr / count : 0,
      max_abs_error: maxErr,
      original_size_bytes: inBytes,
      compressed_size_bytes: outBytes,
      original_size_mb: inBytes / MB,
      compressed_size_mb: outBytes / MB,
      total_compression_ratio: inBytes / outBytes,
      resumed_from_tensor: resumedFrom,
    },
  });
}
// Exit once stdout is flushed (writes to a pipe are asynchronous in Node: a bare process.exit()
// could drop the last lines) instead of waiting on stdin for more control words.
process.stdout.write('', () => process.exit(0));
