import type { Logger } from 'pino';

export type ShutdownStep = { name: string; run: () => Promise<void> | void };

/**
 * Run the steps in order on the first SIGTERM/SIGINT (finish in-flight work, then close
 * connections); a second signal or the timeout forces exit so an orchestrator never waits forever.
 */
export function installShutdown(logger: Logger, steps: ShutdownStep[], timeoutMs: number): () => Promise<void> {
  let running: Promise<void> | null = null;
  const shutdown = (signal: string): Promise<void> => {
    if (running) {
      if (signal !== 'internal') {
        logger.warn({ signal }, 'second signal during shutdown; exiting now');
        process.exit(1);
      }
      return running;
    }
    logger.info({ signal, timeoutMs }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    running = (async () => {
      for (const step of steps) {
        try {
          await step.run();
          logger.debug({ step: step.name }, 'shutdown step done');
        } catch (err) {
          logger.error({ step: step.name, err }, 'shutdown step failed');
        }
      }
      clearTimeout(timer);
      logger.info('shutdown complete');
    })();
    return running;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    void shutdown(signal).then(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => shutdown('internal');
}
