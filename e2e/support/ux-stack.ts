import type { AddressInfo } from 'node:net';
import { createEntryServer, listen, type EntryServer } from '../../tools/devstack/src/entry';
import { Stack } from './stack';

/**
 * The three services (worker with the dry-run executor) behind the devstack's entry proxy on a
 * free loopback port: one origin for REST, WebSocket and the dashboard, as `npm start` serves
 * them. For the SDK, CLI and dashboard tests.
 */
export interface UxStack {
  stack: Stack;
  entryUrl: string;
  /**
   * An admin token when the stack runs with authentication (the Stack then mints one), else null:
   * the clients under test send it as a real user would.
   */
  token: string | null;
  close(): Promise<void>;
}

export async function startUxStack(label: string, env: Record<string, string> = {}): Promise<UxStack> {
  const stack = new Stack(label);
  let entry: EntryServer | null = null;
  try {
    const [gateway, realtime] = await Promise.all([
      stack.start('gateway', { RETRY_ATTEMPTS: '1', ...env }),
      stack.start('realtime', { METRICS_INTERVAL_MS: '500', ...env }),
      stack.start('pipeline-worker', { RETRY_ATTEMPTS: '1', METRICS_INTERVAL_MS: '250', ...env }),
    ]);
    entry = createEntryServer({ gateway: gateway.url, realtime: realtime.url });
    const address: AddressInfo = await listen(entry.server, '127.0.0.1', 0);
    const server = entry;
    const mint = (stack as unknown as { token?: () => string }).token;
    return {
      stack,
      entryUrl: `http://127.0.0.1:${address.port}`,
      token: typeof mint === 'function' ? mint.call(stack) : null,
      async close() {
        await server.close();
        await stack.stopAll();
      },
    };
  } catch (err) {
    await entry?.close();
    await stack.stopAll();
    throw err;
  }
}

/** A dry-run pipeline config: `steps` steps of `stepMs` per phase. */
export function dryRun(steps: number, stepMs: number): Record<string, unknown> {
  return { executor: 'dry-run', dry_run: { steps, step_ms: stepMs } };
}
