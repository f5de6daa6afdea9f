import type { Principal } from '@agent-forge/auth';

declare module 'http' {
  interface IncomingMessage {
    /** Request id (echoed as `x-request-id`). */
    id?: string;
    /** Who is calling; set by the route guard. */
    principal?: Principal;
    /** Why authentication failed (for the audit entry). */
    authFailure?: string;
    /** The client address as the fast lane resolved it (what Express's req.ip gives). */
    clientIp?: string;
  }
}

export {};
