/**
 * Preloaded into every server process of this benchmark (`node --expose-gc -r mem-probe.cjs
 * <server>`), ours included, so each answers the same question the same way: on an IPC
 * `{cmd: 'mem'}` it runs two full GCs and reports `process.memoryUsage()`. Nothing else; the
 * server itself (for ours: services/realtime/dist/main.js, unchanged) does not know it is there.
 */
'use strict';

if (typeof process.send === 'function') {
  process.on('message', (m) => {
    if (!m || m.cmd !== 'mem' || typeof m.id !== 'number') return;
    if (typeof global.gc === 'function') {
      global.gc();
      global.gc();
    }
    const u = process.memoryUsage();
    process.send({ id: m.id, gc: typeof global.gc === 'function', rss: u.rss, heapUsed: u.heapUsed, heapTotal: u.heapTotal, external: u.external, arrayBuffers: u.arrayBuffers });
  });
  // Never the reason the server stays up; and never outlive the benchmark that started it.
  process.channel?.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
