import { ClientMessage, makeEnvelope } from '@agent-forge/contracts';
import type { RawData } from 'ws';

export type InboundErrorCode = 'INVALID_MESSAGE' | 'UNKNOWN_MESSAGE_TYPE' | 'RATE_LIMITED';
export type InboundError = { kind: 'error'; code: InboundErrorCode; message: string };
export type Inbound = { kind: 'message'; message: ClientMessage } | InboundError;

/** Longest message type we echo back in an error; a client must not make us reflect large input. */
const MAX_ECHOED_TYPE = 64;
/** The client message types the contract defines (`ping`, `resume`). */
export const CLIENT_MESSAGE_TYPES: readonly string[] = ClientMessage.options.map((option) => option.shape.type.value);

/**
 * Classify one client frame. Oversize frames never get here: ws closes those itself with 1009
 * (Message Too Big) before the payload is buffered, per the server's `maxPayload`.
 */
export function parseClientFrame(data: RawData, isBinary: boolean): Inbound {
  if (isBinary) return invalid('binary frames are not accepted; send JSON text');
  let value: unknown;
  try {
    value = JSON.parse(rawToString(data));
  } catch {
    return invalid('frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid('frame must be a JSON object with a "type" field');
  }
  const type = (value as Record<string, unknown>).type;
  if (typeof type !== 'string') return invalid('frame must be a JSON object with a "type" field');
  const parsed = ClientMessage.safeParse(value);
  if (parsed.success) return { kind: 'message', message: parsed.data };
  if (!CLIENT_MESSAGE_TYPES.includes(type)) {
    return {
      kind: 'error',
      code: 'UNKNOWN_MESSAGE_TYPE',
      message: `unknown message type "${type.slice(0, MAX_ECHOED_TYPE)}"; supported: ${CLIENT_MESSAGE_TYPES.join(', ')}`,
    };
  }
  // A known type with bad fields: name the first bad field (schema wording, never the input).
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join('.') || 'frame';
  return invalid(`${type}: ${field}: ${issue?.code === 'invalid_format' ? issue.message : 'missing or of the wrong type'}`);
}

function invalid(message: string): InboundError {
  return { kind: 'error', code: 'INVALID_MESSAGE', message };
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

export function pongFrame(now: Date = new Date()): string {
  return JSON.stringify({ type: 'pong', timestamp: now.toISOString() });
}

/** The `error` event a client gets for a frame we could not use; the socket stays open. */
export function clientErrorFrame(error: Omit<InboundError, 'kind'>, now: Date = new Date()): string {
  return JSON.stringify(
    makeEnvelope(
      'error',
      null,
      { error_code: error.code, error_message: error.message, phase: null, recoverable: true },
      now,
    ),
  );
}
