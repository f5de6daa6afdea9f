import { answerClientErrors, type Logger } from '@agent-forge/runtime';
import http from 'node:http';
import https from 'node:https';

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/**
 * The gateway's server as deployed: HTTPS when a certificate is configured (else TLS ends at the
 * ingress), and the contract's error shape for requests Node refuses before the app sees them.
 */
export function createGatewayServer(app: http.RequestListener, tls: TlsFiles | null, logger?: Logger): http.Server {
  const server = tls ? https.createServer(tls, app) : http.createServer(app);
  answerClientErrors(server, logger);
  return server;
}
