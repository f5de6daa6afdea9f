import { ERROR_CATALOGUE, errorBody, type ErrorCode } from '@agent-forge/contracts';
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from './logger';

/** The parser's verdict → what the client is told (Node's own defaults, in the contract's shape). */
function codeFor(err: NodeJS.ErrnoException): ErrorCode {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  return 'MALFORMED_REQUEST';
}

const MESSAGES: Partial<Record<ErrorCode, string>> = {
  HEADERS_TOO_LARGE: 'request headers exceed the size limit (16 KiB)',
  REQUEST_TIMEOUT: 'the request was not received in time',
  MALFORMED_REQUEST: 'the HTTP request could not be parsed',
};

/**
 * Requests Node's HTTP parser refuses before any handler runs (oversized headers, a malformed
 * request line, a request that never finished arriving) are answered in the contract's error shape
 * instead of Node's bare status line, then the connection is closed.
 */
export function answerClientErrors(server: Server, logger?: Logger): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // A connection the client reset, or one already answered, has no one left to tell.
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const code = codeFor(err);
    const status = ERROR_CATALOGUE[code];
    const body = JSON.stringify(errorBody(code, MESSAGES[code] ?? code));
    logger?.debug({ err: err.message, parserCode: err.code, status }, 'refused a request the HTTP parser could not accept');
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}
