#!/usr/bin/env node
/**
 * Mint a development token (HS256) with the local or configured signing secret:
 *
 *   node tools/devstack/dist/mint-token.js --tenant acme --roles operator [--sub alice] [--ttl 3600] [--write]
 *
 * The secret is JWT_SECRET, else the file JWT_SECRET_FILE, else `.agent-forge/jwt-secret` (made by
 * `npm start`). Audience JWT_AUDIENCE (default agent-forge), issuer JWT_ISSUER if set. Prints the
 * token on stdout; `--write` also stores it in `.agent-forge/dev-token`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROLES } from '@agent-forge/auth';
import { isValidTenant } from '@agent-forge/state';
import { DEFAULT_AUDIENCE, DEV_TENANT, ensureDevSecret, mintDevToken, secretFile, writeDevToken } from './dev-auth';

const ROOT = path.resolve(__dirname, '..', '..', '..');

export interface MintArgs {
  tenant: string;
  roles: string[];
  sub: string | null;
  ttlSeconds: number;
  write: boolean;
}

export function parseArgs(argv: string[]): MintArgs {
  const args: MintArgs = { tenant: DEV_TENANT, roles: ['admin'], sub: null, ttlSeconds: 12 * 3600, write: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--tenant':
        args.tenant = value();
        break;
      case '--roles':
        args.roles = value().split(',').map((r) => r.trim()).filter(Boolean);
        break;
      case '--sub':
        args.sub = value();
        break;
      case '--ttl':
        args.ttlSeconds = Number(value());
        break;
      case '--write':
        args.write = true;
        break;
      case '--help':
      case '-h':
        throw new Error('usage');
      default:
        throw new Error(`unknown argument ${flag}`);
    }
  }
  if (!isValidTenant(args.tenant)) throw new Error('--tenant: 1-64 letters, digits, _ . - only');
  const unknown = args.roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (args.roles.length === 0 || unknown.length > 0) throw new Error(`--roles: a comma list of ${ROLES.join(', ')}`);
  if (!Number.isInteger(args.ttlSeconds) || args.ttlSeconds < 1) throw new Error('--ttl: seconds, a positive integer');
  return args;
}

function main(): number {
  let args: MintArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    const message = (err as Error).message;
    process.stderr.write(`${message === 'usage' ? '' : `${message}\n`}usage: node tools/devstack/dist/mint-token.js [--tenant default] [--roles admin|operator|viewer[,…]] [--sub name] [--ttl seconds] [--write]\n`);
    return message === 'usage' ? 0 : 2;
  }
  if (!process.env.JWT_SECRET && !process.env.JWT_SECRET_FILE && !existsSync(secretFile(ROOT))) {
    process.stderr.write('no signing secret yet: run `npm start` once (it makes .agent-forge/jwt-secret), or set JWT_SECRET / JWT_SECRET_FILE\n');
    return 1;
  }
  const { secret } = ensureDevSecret(ROOT);
  const token = mintDevToken({
    secret,
    tenant: args.tenant,
    roles: args.roles,
    ...(args.sub ? { sub: args.sub } : {}),
    ttlSeconds: args.ttlSeconds,
    audience: process.env.JWT_AUDIENCE || DEFAULT_AUDIENCE,
    ...(process.env.JWT_ISSUER ? { issuer: process.env.JWT_ISSUER } : {}),
  });
  process.stdout.write(`${token}\n`);
  if (args.write) process.stderr.write(`written to ${path.relative(process.cwd(), writeDevToken(ROOT, token)) || '.agent-forge/dev-token'}\n`);
  return 0;
}

if (require.main === module) process.exit(main());
