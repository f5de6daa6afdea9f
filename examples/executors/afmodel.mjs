// Read and write Agent Forge model files (`model.bin`, format AFM1) with Node's standard library.
// Layout and encodings: see afmodel.py and packages/forge/src/model/serialize.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { deflateRawSync, inflateRawSync } from 'node:zlib';

const f32 = (buf, offset, n) => {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(offset + 4 * i);
  return out;
};

function ternary(p, offset, n, groupSize) {
  const groups = Math.ceil(n / groupSize);
  const scales = f32(p, offset, groups);
  const base = offset + groups * 4;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 5) {
    let v = p[base + i / 5];
    for (let k = 0; k < 5 && i + k < n; k++) {
      out[i + k] = ((v % 3) - 1) * scales[Math.floor((i + k) / groupSize)];
      v = Math.floor(v / 3);
    }
  }
  return out;
}

function codebook(p, offset, n, k) {
  const centroids = f32(p, offset, k);
  const bits = Math.max(1, Math.ceil(Math.log2(k)));
  const maskAt = offset + k * 4;
  const idxAt = maskAt + Math.ceil(n / 8);
  const out = new Float32Array(n);
  let bit = 0;
  for (let i = 0; i < n; i++) {
    if (!((p[maskAt + (i >> 3)] >> (i & 7)) & 1)) continue;
    let v = 0;
    for (let b = 0; b < bits; b++, bit++) if ((p[idxAt + (bit >> 3)] >> (bit & 7)) & 1) v |= 1 << b;
    out[i] = centroids[v];
  }
  return out;
}

/** { header, tensors: Map<name, Float32Array> } with every tensor dense, whatever its encoding. */
export function load(path) {
  const data = readFileSync(path);
  if (data.subarray(0, 4).toString('latin1') !== 'AFM1') throw new Error(`${path} is not an agent-forge model file`);
  const hl = data.readUInt32LE(4);
  const header = JSON.parse(data.subarray(8, 8 + hl).toString('utf8'));
  let payload = data.subarray(8 + hl);
  if (header.payload === 'deflate') payload = inflateRawSync(payload);
  const tensors = new Map();
  for (const e of header.tensors) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (e.encoding === 'f32') tensors.set(e.name, f32(payload, e.offset, n));
    else if (e.encoding === 'ternary') tensors.set(e.name, ternary(payload, e.offset, n, e.group_size));
    else if (e.encoding === 'codebook') tensors.set(e.name, codebook(payload, e.offset, n, e.codebook_size));
    else throw new Error(`tensor ${e.name}: unknown encoding ${e.encoding}`);
  }
  return { header, tensors };
}

/** Every tensor as f32, payload raw-deflated. */
export function save(path, header, tensors, meta) {
  const entries = [];
  const parts = [];
  let offset = 0;
  for (const e of header.tensors) {
    const t = tensors.get(e.name);
    const b = Buffer.alloc(t.length * 4);
    for (let i = 0; i < t.length; i++) b.writeFloatLE(t[i], 4 * i);
    entries.push({ name: e.name, shape: e.shape, offset, bytes: b.length, encoding: 'f32' });
    parts.push(b);
    offset += b.length;
  }
  const payload = deflateRawSync(Buffer.concat(parts), { level: 9 });
  const hj = Buffer.from(JSON.stringify({ format: 'agent-forge-model', version: 1, arch: header.arch, payload: 'deflate', tensors: entries, meta }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(hj.length);
  writeFileSync(path, Buffer.concat([Buffer.from('AFM1', 'latin1'), len, hj, payload]));
}
