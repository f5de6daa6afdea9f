'use strict';
/** Task handlers for the swarm's tests (plain CommonJS: agent threads load them directly). */
exports.handlers = {
  square: (n) => n * n,
  /** Fails on purpose. */
  fail: (message) => {
    const err = new Error(message);
    err.code = 'FIXTURE_FAILED';
    throw err;
  },
  /** Keeps allocating until the thread's heap limit stops it. */
  hog: () => {
    const keep = [];
    for (;;) keep.push(new Array(1e5).fill(Math.random()));
  },
  /** Island step: take the best of what the neighbours shared last round, add own value, share it on. */
  island: async (payload, ctx) => {
    const got = await ctx.gather();
    const best = Math.max(payload.value, ...got.map((g) => g.value));
    if (!payload.last) ctx.share(best + 1);
    return { best, from: got.map((g) => g.from) };
  },
};
