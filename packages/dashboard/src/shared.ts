import { AgentForgeClient, ApiError, LiveConnectionError, UnauthenticatedError } from '@agent-forge/sdk';
import { h } from './dom';

export const TOKEN_KEY = 'agent-forge.token';

function storedToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string): void {
  try {
    if (token.trim()) localStorage.setItem(TOKEN_KEY, token.trim());
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lives for this page only
  }
}

/** One client for the page: same origin (the entry URL), token from localStorage when set. */
export const client = new AgentForgeClient({ token: storedToken, timeoutMs: 15_000, retries: 1 });

/** A view on the page; `dispose` closes its sockets and timers. */
export interface View {
  dispose(): void;
}

/** What the caller may do. Without auth (no whoami endpoint) everything is allowed. */
export interface Permissions {
  known: boolean;
  can(permission: 'pipeline:write' | 'checkpoints:write' | 'presets:write' | 'quality_gates:run'): boolean;
}

let permissions: Promise<Permissions> | null = null;
export function loadPermissions(force = false): Promise<Permissions> {
  if (permissions && !force) return permissions;
  // Without a token there is nothing to ask: auth is off (or every call will say 401 anyway).
  if (!client.token()) return (permissions = Promise.resolve({ known: false, can: () => true }));
  permissions = client
    .request<{ roles?: string[]; permissions?: string[] }>('GET', '/api/v1/auth/whoami')
    .then((me) => {
      const granted = new Set(me.permissions ?? []);
      const roles = new Set(me.roles ?? []);
      return {
        known: true,
        can: (p: string) => roles.has('admin') || granted.has(p) || (granted.size === 0 && roles.size === 0),
      };
    })
    .catch(() => ({ known: false, can: () => true }));
  return permissions;
}

/** A message for the user from anything thrown. */
export function describeError(err: unknown): string {
  if (err instanceof UnauthenticatedError) return 'Authentication required: paste a token in the field at the top right.';
  if (err instanceof ApiError) {
    const details = err.details && Object.keys(err.details).length > 0 ? ` (${Object.entries(err.details).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('; ')})` : '';
    return `${err.error_code}: ${err.body?.error ?? err.message}${details}`;
  }
  if (err instanceof LiveConnectionError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

let toastTimer: ReturnType<typeof setTimeout> | undefined;
/** A short message at the bottom of the page. */
export function toast(text: string, kind: 'info' | 'error' = 'info'): void {
  let el = document.getElementById('toast');
  if (!el) {
    el = h('div', { id: 'toast', role: 'status', 'aria-live': 'polite' });
    document.body.appendChild(el);
  }
  el.textContent = text;
  el.className = `toast show toast-${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    if (el) el.className = 'toast';
  }, kind === 'error' ? 8_000 : 3_000);
}

/** Show the live connection's state in the header. */
export function setLiveIndicator(state: string, detail = ''): void {
  const el = document.getElementById('live');
  if (!el) return;
  el.className = `live live-${state}`;
  el.textContent = state === 'open' ? 'live' : state;
  el.title = detail || `WebSocket ${state}`;
}
