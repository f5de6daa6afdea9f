import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACT_PATHS } from './logger';

describe('log redaction', () => {
  it('never prints credentials', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
    log.info({ req: { headers: { authorization: 'Bearer SECRET1', cookie: 'sid=SECRET2', 'x-api-key': 'afk_SECRET3' } } }, 'a');
    log.info({ headers: { authorization: 'Bearer SECRET4', 'x-api-key': 'SECRET5' }, token: 'SECRET6', secret: 'SECRET7', password: 'SECRET8' }, 'b');
    log.info({ upstream: { headers: { authorization: 'SECRET9' } }, body: { token: 'SECRET10', api_key: 'SECRET11' } }, 'c');
    const out = lines.join('');
    expect(out).not.toMatch(/SECRET/);
    expect(out.match(/\[redacted\]/g)?.length).toBe(11);
  });
});
