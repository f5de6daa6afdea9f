/** Thrown out of `ctx.progress` when the session was paused: the phase is parked, not failed. */
export class PhaseParked extends Error {
  override readonly name = 'PhaseParked';
  constructor() {
    super('phase parked: session paused');
  }
}

/** Thrown out of `ctx.progress` when the job no longer owns the phase (cancelled, superseded). */
export class PhaseAborted extends Error {
  override readonly name = 'AbortError';
  constructor(readonly reason: string) {
    super(`phase aborted: ${reason}`);
  }
}

/** A phase error with a stable code; `retryable: false` skips the remaining attempts. */
export class PhaseError extends Error {
  override readonly name = 'PhaseError';
  constructor(
    readonly code: string,
    message: string,
    readonly retryable = true,
  ) {
    super(message);
  }
}

export class UnknownExecutorError extends PhaseError {
  constructor(name: string, known: string[]) {
    super('UNKNOWN_EXECUTOR', `no executor named "${name}" (known: ${known.join(', ')})`, false);
  }
}

/** Duck-typed: abort errors from Node internals may come from another realm (vm, workers). */
export function isAbortError(err: unknown): boolean {
  return err instanceof PhaseAborted || (typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError');
}
