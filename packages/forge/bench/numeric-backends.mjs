// Which numeric backend is fastest for the forge's tiny models on this machine?
// One training step of a char-level MLP LM (embedding -> dense+tanh -> dense -> softmax xent,
// forward + backward + SGD update) with tfjs-cpu, tfjs-wasm and plain Float32Array kernels.
// Run: node packages/forge/bench/numeric-backends.mjs [B C E H V]
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');

const [B, C, E, H, V] = (process.argv.slice(2).length ? process.argv.slice(2) : ['32', '8', '16', '128', '48']).map(Number);
const ITERS = 200;
let s = 1;
const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
const idx = Int32Array.from({ length: B * C }, (_, i) => (i * 7919) % V);
const tgt = Int32Array.from({ length: B }, (_, i) => (i * 31) % V);

async function benchTf(backend, oneHotEmbed = false) {
  await tf.setBackend(backend);
  await tf.ready();
  const emb = tf.variable(tf.randomUniform([V, E], -0.1, 0.1, 'float32', 1));
  const w1 = tf.variable(tf.randomUniform([C * E, H], -0.1, 0.1, 'float32', 2));
  const b1 = tf.variable(tf.zeros([H]));
  const w2 = tf.variable(tf.randomUniform([H, V], -0.1, 0.1, 'float32', 3));
  const b2 = tf.variable(tf.zeros([V]));
  const opt = tf.train.sgd(0.1);
  const x = oneHotEmbed ? tf.oneHot(tf.tensor1d(idx, 'int32'), V).toFloat() : tf.tensor1d(idx, 'int32');
  const y = tf.oneHot(tf.tensor1d(tgt, 'int32'), V);
  const step = () =>
    opt.minimize(() => {
      const h = tf.tanh(tf.add(tf.matMul(tf.reshape(oneHotEmbed ? tf.matMul(x, emb) : tf.gather(emb, x), [B, C * E]), w1), b1));
      return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(h, w2), b2));
    }, true);
  for (let i = 0; i < 20; i++) tf.dispose(step());
  const t0 = performance.now();
  let loss;
  for (let i = 0; i < ITERS; i++) {
    if (loss) loss.dispose();
    loss = step();
  }
  await loss.data();
  return (performance.now() - t0) / ITERS;
}

function benchTyped() {
  const IN = C * E;
  const emb = Float32Array.from({ length: V * E }, rnd);
  const w1 = Float32Array.from({ length: IN * H }, rnd);
  const b1 = new Float32Array(H);
  const w2 = Float32Array.from({ length: H * V }, rnd);
  const b2 = new Float32Array(V);
  const x = new Float32Array(B * IN), h = new Float32Array(B * H), lo = new Float32Array(B * V);
  const dh = new Float32Array(B * H), dx = new Float32Array(B * IN);
  const gw1 = new Float32Array(IN * H), gw2 = new Float32Array(H * V), gb1 = new Float32Array(H), gb2 = new Float32Array(V), ge = new Float32Array(V * E);
  const lr = 0.1;
  const step = () => {
    for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) x.set(emb.subarray(idx[b * C + c] * E, idx[b * C + c] * E + E), b * IN + c * E);
    for (let b = 0; b < B; b++) {
      const hr = h.subarray(b * H, b * H + H); hr.set(b1);
      for (let i = 0; i < IN; i++) { const xv = x[b * IN + i]; if (xv === 0) continue; const o = i * H; for (let j = 0; j < H; j++) hr[j] += xv * w1[o + j]; }
      for (let j = 0; j < H; j++) hr[j] = Math.tanh(hr[j]);
      const lr_ = lo.subarray(b * V, b * V + V); lr_.set(b2);
      for (let i = 0; i < H; i++) { const hv = hr[i]; const o = i * V; for (let j = 0; j < V; j++) lr_[j] += hv * w2[o + j]; }
      let m = -Infinity; for (let j = 0; j < V; j++) m = Math.max(m, lr_[j]);
      let z = 0; for (let j = 0; j < V; j++) { lr_[j] = Math.exp(lr_[j] - m); z += lr_[j]; }
      for (let j = 0; j < V; j++) lr_[j] /= z * B;
      lr_[tgt[b]] -= 1 / B;
    }
    gw1.fill(0); gw2.fill(0); gb1.fill(0); gb2.fill(0); ge.fill(0);
    for (let b = 0; b < B; b++) {
      const d = lo.subarray(b * V, b * V + V), hr = h.subarray(b * H, b * H + H), dhr = dh.subarray(b * H, b * H + H);
      for (let j = 0; j < V; j++) gb2[j] += d[j];
      for (let i = 0; i < H; i++) { const hv = hr[i]; const o = i * V; let acc = 0; for (let j = 0; j < V; j++) { gw2[o + j] += hv * d[j]; acc += w2[o + j] * d[j]; } dhr[i] = acc * (1 - hv * hv); }
      for (let j = 0; j < H; j++) gb1[j] += dhr[j];
      for (let i = 0; i < IN; i++) { const xv = x[b * IN + i]; const o = i * H; let acc = 0; for (let j = 0; j < H; j++) { gw1[o + j] += xv * dhr[j]; acc += w1[o + j] * dhr[j]; } dx[b * IN + i] = acc; }
      for (let c = 0; c < C; c++) { const o = idx[b * C + c] * E; for (let e = 0; e < E; e++) ge[o + e] += dx[b * IN + c * E + e]; }
    }
    for (const [p, g] of [[emb, ge], [w1, gw1], [b1, gb1], [w2, gw2], [b2, gb2]]) for (let i = 0; i < p.length; i++) p[i] -= lr * g[i];
  };
  for (let i = 0; i < 20; i++) step();
  const t0 = performance.now();
  for (let i = 0; i < ITERS; i++) step();
  return (performance.now() - t0) / ITERS;
}

const results = {};
results['typed-array (Float32Array)'] = benchTyped();
results['tfjs-cpu'] = await benchTf('cpu');
results['tfjs-cpu (one-hot embed)'] = await benchTf('cpu', true);
try {
  // the wasm backend has no UnsortedSegmentSum kernel (gather's gradient): embed by one-hot matmul
  results['tfjs-wasm (one-hot embed)'] = await benchTf('wasm', true);
} catch (err) {
  results['tfjs-wasm'] = `failed: ${err.message}`;
}
console.log(`char-MLP train step, B=${B} context=${C} embed=${E} hidden=${H} vocab=${V}, ${ITERS} steps, node ${process.version}`);
for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(28)} ${typeof v === 'number' ? v.toFixed(3) + ' ms/step' : v}`);
