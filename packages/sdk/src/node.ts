/**
 * @agent-forge/sdk/node — the SDK for Node 20+: the same client, with WebSockets from the `ws`
 * package (the credential goes in the `Authorization` header, never in the URL) and the discovery
 * of the endpoint and token the CLI uses (flags → env → config file → local dev token).
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { parse as parseYaml } from 'yaml';
import { AgentForgeClient, DEFAULT_URL, type ClientOptions } from './client';
import type { WebSocketFactory, WebSocketLike } from './live';

export * from './index';

/** `ws` sockets; the token is sent as `Authorization: Bearer …` on the upgrade request. */
export const nodeWebSocketFactory: WebSocketFactory = (url, token) => {
  return new WebSocket(url, token ? { headers: { authorization: `Bearer ${token}` } } : {}) as unknown as WebSocketLike;
};

/** A client with Node's fetch and the `ws` transport. */
export function createNodeClient(opts: ClientOptions = {}): AgentForgeClient {
  return new AgentForgeClient({ webSocket: nodeWebSocketFactory, ...opts });
}

/** What a config file may hold (JSON or YAML). */
export interface ClientConfigFile {
  url?: string;
  token?: string;
  /** A file holding the token (relative to the config file). */
  token_file?: string;
}

export interface ResolvedConnection {
  url: string;
  token: string | null;
  /** Where each came from, for `--verbose` and error messages. */
  urlSource: 'flag' | 'env' | 'config' | 'default';
  tokenSource: 'flag' | 'env' | 'config' | 'dev-token' | 'none';
  configFile: string | null;
}

export interface ResolveOptions {
  url?: string;
  token?: string;
  /** Explicit config file (else AGENT_FORGE_CONFIG, else the first found of the default places). */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
}

const CONFIG_NAMES = ['config.json', 'config.yaml', 'config.yml'];
/** How far up from the working directory `.agent-forge/` is looked for. */
const MAX_PARENT_LEVELS = 25;

export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
}

/** Parse a JSON or YAML file (by extension; YAML is a superset, so anything else is read as YAML). */
export function readStructuredFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigFileError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigFileError(`${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** `<dir>/.agent-forge/<name>` in `cwd` or the nearest parent that has it. */
export function findUp(cwd: string, relative: string): string | null {
  let dir = path.resolve(cwd);
  for (let i = 0; i < MAX_PARENT_LEVELS; i++) {
    const candidate = path.join(dir, relative);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

function defaultConfigFile(cwd: string, home: string, env: NodeJS.ProcessEnv): string | null {
  for (const name of CONFIG_NAMES) {
    const local = findUp(cwd, path.join('.agent-forge', name));
    if (local) return local;
  }
  const base = env.XDG_CONFIG_HOME || path.join(home, '.config');
  for (const name of CONFIG_NAMES) {
    const file = path.join(base, 'agent-forge', name);
    if (existsSync(file)) return file;
  }
  return null;
}

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}

/**
 * The endpoint and token to use. URL: `url` (flag) → AGENT_FORGE_URL → config file `url` →
 * http://127.0.0.1:8080. Token: `token` (flag) → AGENT_FORGE_TOKEN → config file `token` /
 * `token_file` → `.agent-forge/dev-token` (what `npm start` writes when auth is on; used only for
 * a loopback URL) → none.
 */
export function resolveConnection(opts: ResolveOptions = {}): ResolvedConnection {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const home = opts.home ?? os.homedir();
  const explicit = opts.configFile ?? (env.AGENT_FORGE_CONFIG || undefined);
  if (explicit && !existsSync(explicit)) throw new ConfigFileError(`config file ${explicit} does not exist`);
  const configFile = explicit ?? defaultConfigFile(cwd, home, env);
  let config: ClientConfigFile = {};
  if (configFile) {
    const raw = readStructuredFile(configFile);
    if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) throw new ConfigFileError(`${configFile}: expected an object with url / token / token_file`);
    config = (raw ?? {}) as ClientConfigFile;
    for (const key of ['url', 'token', 'token_file'] as const) {
      if (config[key] !== undefined && typeof config[key] !== 'string') throw new ConfigFileError(`${configFile}: "${key}" must be a string`);
    }
  }

  let url = DEFAULT_URL;
  let urlSource: ResolvedConnection['urlSource'] = 'default';
  if (opts.url) [url, urlSource] = [opts.url, 'flag'];
  else if (env.AGENT_FORGE_URL) [url, urlSource] = [env.AGENT_FORGE_URL, 'env'];
  else if (config.url) [url, urlSource] = [config.url, 'config'];
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new ConfigFileError(`invalid endpoint URL "${url}" (from ${urlSource}): expected http(s)://host:port`);
  }

  let token: string | null = null;
  let tokenSource: ResolvedConnection['tokenSource'] = 'none';
  if (opts.token) [token, tokenSource] = [opts.token, 'flag'];
  else if (env.AGENT_FORGE_TOKEN) [token, tokenSource] = [env.AGENT_FORGE_TOKEN, 'env'];
  else if (config.token) [token, tokenSource] = [config.token, 'config'];
  else if (config.token_file && configFile) {
    const file = path.resolve(path.dirname(configFile), config.token_file);
    try {
      [token, tokenSource] = [readFileSync(file, 'utf8').trim(), 'config'];
    } catch {
      throw new ConfigFileError(`${configFile}: token_file ${file} cannot be read`);
    }
  } else if (isLoopback(url)) {
    const dev = findUp(cwd, path.join('.agent-forge', 'dev-token'));
    if (dev) {
      const text = readFileSync(dev, 'utf8').trim();
      if (text) [token, tokenSource] = [text, 'dev-token'];
    }
  }
  return { url: url.replace(/\/+$/, ''), token: token || null, urlSource, tokenSource, configFile };
}
