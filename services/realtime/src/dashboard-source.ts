import type { DashboardSummary, TenantScope } from '@agent-forge/state';

/** A compact live view of one session, as the dashboard and metrics frames show it. */
export type SessionSummary = DashboardSummary;

/**
 * Where the ticker reads live session state. The state package's SessionStore implements it; the
 * interface keeps the ticker testable with any source (e.g. one that never answers).
 */
export interface DashboardSource {
  /** ids of non-terminal sessions of one tenant, or of every tenant (ALL_TENANTS) */
  activeSessionIds(scope: TenantScope): Promise<string[]>;
  /** compact live summary of one session, or null if unknown */
  summary(sessionId: string): Promise<SessionSummary | null>;
}
