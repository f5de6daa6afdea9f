import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An incoming id is honoured when it is short and made of safe characters (it ends up in logs). */
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** pino-http `genReqId`: honour a sane `x-request-id`, else make one; always echo it back. */
export function genReqId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && SANE_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('x-request-id', id);
  return id;
}
