/**
 * What every process of the benchmark shares: the clock, the event payload, the latency histogram.
 */

/**
 * Microseconds on CLOCK_MONOTONIC (process.hrtime): one clock for every process of the machine,
 * so the publisher's stamp and a client's receive time compare directly.
 */
export function nowUs() {
  const [s, ns] = process.hrtime();
  return s * 1e6 + ns / 1e3;
}

/**
 * `data` of the `pipeline_progress` event every system carries (the whole frame a client receives
 * is ≈ 325 bytes with event_id, epoch and tenant): `metrics.run` (which measured
 * run), `metrics.seq` (0, 1, 2, … within the run: each client checks it got every one, once, in
 * order) and `metrics.t` (publish time, µs, nowUs()).
 */
export function eventData(run, seq, t) {
  return {
    phase: 'cognate',
    progress_percent: seq % 100,
    total_progress_percent: (seq % 1000) / 10,
    status: 'running',
    metrics: { run, seq, t },
  };
}

/**
 * Latency histogram: log buckets 1 % wide over microseconds (1 µs … ~60 s in ≈ 1,800 counters), so
 * a client process can record 100k samples/s without keeping them, and processes merge by adding.
 */
const LOG_BASE = Math.log(1.01);
export const HIST_BUCKETS = 1_800;

export class Histogram {
  constructor() {
    this.counts = new Float64Array(HIST_BUCKETS);
    this.n = 0;
    this.max = 0;
    this.sum = 0;
  }

  record(us) {
    const v = us < 1 ? 1 : us;
    let b = Math.ceil(Math.log(v) / LOG_BASE);
    if (b >= HIST_BUCKETS) b = HIST_BUCKETS - 1;
    this.counts[b]++;
    this.n++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** Sparse form for IPC: [[bucket, count], ...]. */
  toJSON() {
    const buckets = [];
    for (let b = 0; b < HIST_BUCKETS; b++) if (this.counts[b] > 0) buckets.push([b, this.counts[b]]);
    return { buckets, n: this.n, max: this.max, sum: this.sum };
  }

  add(json) {
    for (const [b, c] of json.buckets) this.counts[b] += c;
    this.n += json.n;
    this.sum += json.sum;
    if (json.max > this.max) this.max = json.max;
  }

  /** The q-quantile in ms (bucket upper bound: ≤ 1 % above the true value). */
  quantileMs(q) {
    if (this.n === 0) return null;
    const target = Math.ceil(q * this.n);
    let seen = 0;
    for (let b = 0; b < HIST_BUCKETS; b++) {
      seen += this.counts[b];
      if (seen >= target) return Math.min(1.01 ** b, this.max) / 1000;
    }
    return this.max / 1000;
  }

  meanMs() {
    return this.n === 0 ? null : this.sum / this.n / 1000;
  }
}
