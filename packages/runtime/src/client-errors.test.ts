import { ErrorBody } from '@agent-forge/contracts';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { answerClientErrors } from './client-errors';

/** What a raw client receives for bytes it writes: status line, headers, parsed body. */
async function rawExchange(port: number, bytes: string): Promise<{ status: number; headers: string; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let data = '';
    socket.on('data', (d) => (data += d.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), headers: head, body: body ? JSON.parse(body) : null });
    });
  });
}

describe('requests the HTTP parser refuses', () => {
  let server: http.Server;
  let port: number;
  let handled = 0;
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      handled++;
      res.end('ok');
    });
    answerClientErrors(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('oversized headers: 431 in the error shape, the handler never runs', async () => {
    const before = handled;
    const r = await rawExchange(port, `GET / HTTP/1.1\r\nhost: x\r\nx-big: ${'x'.repeat(20_000)}\r\n\r\n`);
    expect(r.status).toBe(431);
    expect(r.headers).toMatch(/content-type: application\/json/);
    expect(ErrorBody.parse(r.body)).toMatchObject({ error_code: 'HEADERS_TOO_LARGE' });
    expect(handled).toBe(before);
  });

  it('a malformed request line: 400 MALFORMED_REQUEST in the error shape', async () => {
    const r = await rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n');
    expect(r.status).toBe(400);
    expect(ErrorBody.parse(r.body)).toMatchObject({ error_code: 'MALFORMED_REQUEST' });
  });

  it('a well-formed request still reaches the handler', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/`);
    expect(await r.text()).toBe('ok');
  });
});
