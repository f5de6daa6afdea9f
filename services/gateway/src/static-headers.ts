import type { RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * helmet's headers, computed once. With our options every header helmet sets is the same for
 * every request (no nonces), so running its dozen middlewares per request only repeats work: we
 * run helmet once against a recording response at start-up and set the recorded headers. The
 * result is byte-for-byte what helmet would send (a test compares them).
 */
export interface RecordedHeaders {
  set: Array<[string, string]>;
  removed: string[];
}

export function helmetHeaders(options: HelmetOptions): RecordedHeaders {
  const recorded: Array<[string, string]> = [];
  const removed: string[] = [];
  const res = {
    setHeader(name: string, value: string | number | readonly string[]) {
      recorded.push([name, Array.isArray(value) ? value.join(', ') : String(value)]);
      return res;
    },
    removeHeader(name: string) {
      removed.push(name);
      for (let i = recorded.length - 1; i >= 0; i--) if (recorded[i]?.[0].toLowerCase() === name.toLowerCase()) recorded.splice(i, 1);
    },
    getHeader: () => undefined,
  };
  let done = false;
  helmet(options)({ headers: {}, method: 'GET', url: '/' } as IncomingMessage, res as unknown as ServerResponse, () => {
    done = true;
  });
  if (!done) throw new Error('helmet did not finish synchronously');
  return { set: recorded, removed };
}

/** Set the recorded headers on a response (Express's path and the fast lane alike). */
export function applyStaticHeaders(res: ServerResponse, { set: headers, removed }: RecordedHeaders): void {
  for (let i = 0; i < removed.length; i++) res.removeHeader(removed[i] as string);
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i] as [string, string];
    res.setHeader(h[0], h[1]);
  }
}

export function staticHeaders(recorded: RecordedHeaders): RequestHandler {
  return (_req, res, next) => {
    applyStaticHeaders(res, recorded);
    next();
  };
}
