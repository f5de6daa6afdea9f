import { createHash, randomBytes } from 'node:crypto';

/**
 * API keys look like `afk_<key id>_<secret>`: the id (16 hex) names the record in Redis, the
 * secret is 32 random bytes (256 bits, base64url). Only SHA-256 of the whole key is stored.
 *
 * Why a plain SHA-256 and not bcrypt/argon2: slow hashes protect low-entropy secrets (passwords)
 * against guessing after a database leak. A 256-bit random secret cannot be guessed whatever the
 * hash speed, so a fast hash is just as safe here, and it lets every request be checked in
 * microseconds without any cache (so revocation is immediate).
 */
export const API_KEY_PREFIX = 'afk_';
const KEY_PATTERN = /^afk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface GeneratedApiKey {
  keyId: string;
  key: string;
  hash: string;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateApiKey(): GeneratedApiKey {
  const keyId = randomBytes(8).toString('hex');
  const key = `${API_KEY_PREFIX}${keyId}_${randomBytes(32).toString('base64url')}`;
  return { keyId, key, hash: hashApiKey(key) };
}

/** The key id of a well-formed key, else null. */
export function parseApiKey(key: string): { keyId: string } | null {
  const m = KEY_PATTERN.exec(key);
  return m ? { keyId: m[1] as string } : null;
}

export function looksLikeApiKey(credential: string): boolean {
  return credential.startsWith(API_KEY_PREFIX);
}
