import type { ControlAction, PipelineStatus } from './enums';

/**
 * The control transition table: for each action, the statuses it may be applied in and the
 * status it leads to. The Redis layer takes its allowed-from lists from here, so this is the
 * one place the rules live.
 */
export const CONTROL_TRANSITIONS: Record<ControlAction, { from: readonly PipelineStatus[]; to: PipelineStatus }> = {
  pause: { from: ['initializing', 'running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  stop: { from: ['idle', 'initializing', 'running', 'paused'], to: 'cancelled' },
  cancel: { from: ['idle', 'initializing', 'running', 'paused'], to: 'cancelled' },
};

export type TransitionDecision =
  | { allowed: true; to: PipelineStatus }
  | { allowed: false; reason: string };

export function decideTransition(action: ControlAction, from: PipelineStatus): TransitionDecision {
  const rule = CONTROL_TRANSITIONS[action];
  if (rule.from.includes(from)) return { allowed: true, to: rule.to };
  return {
    allowed: false,
    reason: `cannot ${action} a session that is ${from}; ${action} is allowed only when the session is ${rule.from.join(' or ')}`,
  };
}
