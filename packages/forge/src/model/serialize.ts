import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Arch } from './arch';
import { Model } from './model';

/**
 * The model file (`model.bin`): `AFM1`, a u32 header length, a JSON header (architecture, one entry
 * per tensor with its encoding and byte range), then the tensor payload (optionally deflated).
 * Encodings:
 * - `f32`: little-endian float32.
 * - `ternary` (bitnet): per group of `group_size` values one float32 scale α, then the values'
 *   signs t ∈ {−1, 0, +1} packed five trits per byte (1.6 bits per weight); value = α·t.
 * - `codebook` (compression): a float32 codebook of k centroids, a bitmap of non-zero positions
 *   (1 bit per weight), then each non-zero's centroid index in ⌈log2 k⌉ bits.
 */
export type TensorEncoding =
  | { encoding: 'f32' }
  | { encoding: 'ternary'; group_size: number }
  | { encoding: 'codebook'; codebook_size: number };

export interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
  bytes: number;
  encoding: TensorEncoding['encoding'];
  group_size?: number;
  codebook_size?: number;
}

export interface ModelHeader {
  format: 'agent-forge-model';
  version: 1;
  arch: Arch;
  payload: 'raw' | 'deflate';
  tensors: TensorEntry[];
  meta: Record<string, unknown>;
}

const MAGIC = 'AFM1';

/** Ternary representation of one tensor: per-group scales and codes in {−1, 0, 1}. */
export interface Ternary {
  groupSize: number;
  scales: Float32Array;
  codes: Int8Array;
}

/** Codebook representation: centroids and per-weight index (−1 = pruned, exactly zero). */
export interface Codebook {
  centroids: Float32Array;
  index: Int32Array;
}

export interface EncodeOptions {
  ternary?: Map<string, Ternary>;
  codebook?: Map<string, Codebook>;
  deflate?: boolean;
  meta?: Record<string, unknown>;
}

function f32Bytes(a: Float32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(i * 4, a[i]!, true);
  return out;
}

function readF32(bytes: Uint8Array, offset: number, n: number): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, n * 4);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

function encodeTernary(t: Ternary): Uint8Array {
  const n = t.codes.length;
  const packed = new Uint8Array(Math.ceil(n / 5));
  for (let i = 0; i < n; i += 5) {
    let v = 0;
    for (let k = 4; k >= 0; k--) v = v * 3 + (i + k < n ? t.codes[i + k]! + 1 : 1);
    packed[i / 5] = v;
  }
  const scales = f32Bytes(t.scales);
  const out = new Uint8Array(scales.length + packed.length);
  out.set(scales, 0);
  out.set(packed, scales.length);
  return out;
}

function decodeTernary(bytes: Uint8Array, offset: number, n: number, groupSize: number): Ternary {
  const groups = Math.ceil(n / groupSize);
  const scales = readF32(bytes, offset, groups);
  const codes = new Int8Array(n);
  const base = offset + groups * 4;
  for (let i = 0; i < n; i += 5) {
    let v = bytes[base + i / 5]!;
    for (let k = 0; k < 5 && i + k < n; k++) {
      codes[i + k] = (v % 3) - 1;
      v = Math.floor(v / 3);
    }
  }
  return { groupSize, scales, codes };
}

export function bitsFor(k: number): number {
  return Math.max(1, Math.ceil(Math.log2(k)));
}

function encodeCodebook(c: Codebook): Uint8Array {
  const n = c.index.length;
  const bits = bitsFor(c.centroids.length);
  let nnz = 0;
  for (let i = 0; i < n; i++) if (c.index[i]! >= 0) nnz++;
  const head = f32Bytes(c.centroids);
  const mask = new Uint8Array(Math.ceil(n / 8));
  const idx = new Uint8Array(Math.ceil((nnz * bits) / 8));
  let bitPos = 0;
  for (let i = 0; i < n; i++) {
    const k = c.index[i]!;
    if (k < 0) continue;
    mask[i >> 3]! |= 1 << (i & 7);
    for (let b = 0; b < bits; b++, bitPos++) if ((k >> b) & 1) idx[bitPos >> 3]! |= 1 << (bitPos & 7);
  }
  const out = new Uint8Array(head.length + mask.length + idx.length);
  out.set(head, 0);
  out.set(mask, head.length);
  out.set(idx, head.length + mask.length);
  return out;
}

function decodeCodebook(bytes: Uint8Array, offset: number, n: number, k: number): Codebook {
  const centroids = readF32(bytes, offset, k);
  const bits = bitsFor(k);
  const maskAt = offset + k * 4;
  const idxAt = maskAt + Math.ceil(n / 8);
  const index = new Int32Array(n);
  let bitPos = 0;
  for (let i = 0; i < n; i++) {
    if (!((bytes[maskAt + (i >> 3)]! >> (i & 7)) & 1)) {
      index[i] = -1;
      continue;
    }
    let v = 0;
    for (let b = 0; b < bits; b++, bitPos++) if ((bytes[idxAt + (bitPos >> 3)]! >> (bitPos & 7)) & 1) v |= 1 << b;
    index[i] = v;
  }
  return { centroids, index };
}

export function encodeModel(model: Model, opts: EncodeOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const s of model.specs) {
    const tern = opts.ternary?.get(s.name);
    const cb = opts.codebook?.get(s.name);
    let bytes: Uint8Array;
    const entry: Omit<TensorEntry, 'offset' | 'bytes'> = tern
      ? { name: s.name, shape: s.shape, encoding: 'ternary', group_size: tern.groupSize }
      : cb
        ? { name: s.name, shape: s.shape, encoding: 'codebook', codebook_size: cb.centroids.length }
        : { name: s.name, shape: s.shape, encoding: 'f32' };
    if (tern) bytes = encodeTernary(tern);
    else if (cb) bytes = encodeCodebook(cb);
    else bytes = f32Bytes(model.get(s.name));
    entries.push({ ...entry, offset, bytes: bytes.length });
    parts.push(bytes);
    offset += bytes.length;
  }
  let payload = new Uint8Array(offset);
  let o = 0;
  for (const p of parts) {
    payload.set(p, o);
    o += p.length;
  }
  if (opts.deflate) payload = new Uint8Array(deflateRawSync(payload, { level: 9 }));
  const header: ModelHeader = {
    format: 'agent-forge-model',
    version: 1,
    arch: model.arch,
    payload: opts.deflate ? 'deflate' : 'raw',
    tensors: entries,
    meta: opts.meta ?? {},
  };
  const hj = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + hj.length + payload.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(4, hj.length, true);
  out.set(hj, 8);
  out.set(payload, 8 + hj.length);
  return out;
}

export interface DecodedModel {
  model: Model;
  header: ModelHeader;
  ternary: Map<string, Ternary>;
  codebook: Map<string, Codebook>;
}

export function decodeModel(bytes: Uint8Array): DecodedModel {
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) throw new Error('not an agent-forge model file');
  const hl = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hl))) as ModelHeader;
  let payload = bytes.subarray(8 + hl);
  if (header.payload === 'deflate') payload = new Uint8Array(inflateRawSync(payload));
  const tensors = new Map<string, Float32Array>();
  const ternary = new Map<string, Ternary>();
  const codebook = new Map<string, Codebook>();
  for (const e of header.tensors) {
    const n = e.shape.reduce((x, y) => x * y, 1);
    if (e.encoding === 'f32') tensors.set(e.name, readF32(payload, e.offset, n));
    else if (e.encoding === 'ternary') {
      const t = decodeTernary(payload, e.offset, n, e.group_size!);
      ternary.set(e.name, t);
      tensors.set(e.name, dequantizeTernary(t));
    } else {
      const c = decodeCodebook(payload, e.offset, n, e.codebook_size!);
      codebook.set(e.name, c);
      const w = new Float32Array(n);
      for (let i = 0; i < n; i++) w[i] = c.index[i]! < 0 ? 0 : c.centroids[c.index[i]!]!;
      tensors.set(e.name, w);
    }
  }
  return { model: new Model(header.arch, tensors), header, ternary, codebook };
}

export function dequantizeTernary(t: Ternary): Float32Array {
  const w = new Float32Array(t.codes.length);
  for (let i = 0; i < w.length; i++) w[i] = t.codes[i]! * t.scales[Math.floor(i / t.groupSize)]!;
  return w;
}

/**
 * Checkpoint bundle: JSON plus named float32 arrays (a model, optimizer buffers, a population…).
 */
export function encodeBundle(json: unknown, arrays: Map<string, Float32Array>): Uint8Array {
  const names = [...arrays.keys()];
  const meta = { json, arrays: names.map((n) => ({ name: n, length: arrays.get(n)!.length })) };
  const hj = new TextEncoder().encode(JSON.stringify(meta));
  const total = names.reduce((s, n) => s + arrays.get(n)!.length * 4, 0);
  const out = new Uint8Array(8 + hj.length + total);
  out.set(new TextEncoder().encode('AFB1'), 0);
  new DataView(out.buffer).setUint32(4, hj.length, true);
  out.set(hj, 8);
  let o = 8 + hj.length;
  for (const n of names) {
    const b = f32Bytes(arrays.get(n)!);
    out.set(b, o);
    o += b.length;
  }
  return out;
}

export function decodeBundle<T>(bytes: Uint8Array): { json: T; arrays: Map<string, Float32Array> } {
  if (new TextDecoder().decode(bytes.subarray(0, 4)) !== 'AFB1') throw new Error('not an agent-forge checkpoint bundle');
  const hl = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hl))) as { json: T; arrays: { name: string; length: number }[] };
  const arrays = new Map<string, Float32Array>();
  let o = 8 + hl;
  for (const a of meta.arrays) {
    arrays.set(a.name, readF32(bytes, o, a.length));
    o += a.length * 4;
  }
  return { json: meta.json, arrays };
}

/** A model's tensors into bundle arrays under `prefix`, and back. */
export function modelArrays(model: Model, prefix: string, into = new Map<string, Float32Array>()): Map<string, Float32Array> {
  for (const s of model.specs) into.set(`${prefix}${s.name}`, model.get(s.name));
  return into;
}

export function modelFromArrays(arch: Arch, arrays: Map<string, Float32Array>, prefix: string): Model {
  const m = new Model(arch);
  for (const s of m.specs) {
    const a = arrays.get(`${prefix}${s.name}`);
    if (!a) throw new Error(`checkpoint lacks ${prefix}${s.name}`);
    m.get(s.name).set(a);
  }
  return m;
}
