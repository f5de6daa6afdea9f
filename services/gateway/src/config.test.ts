import { ConfigError } from '@agent-forge/runtime';
import { loadConfig, publicRedisUri } from './config';

describe('gateway config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: 8081,
      BODY_LIMIT_BYTES: 1_048_576,
      RETRY_ATTEMPTS: 3,
      RETRY_BACKOFF_MS: 1000,
      CORS_ORIGINS: [],
      REDIS_URL: 'redis://127.0.0.1:6379',
    });
  });

  it('parses a comma list of CORS origins and rejects bad values naming the variable', () => {
    expect(loadConfig({ CORS_ORIGINS: 'http://a.example, https://b.example:8443 ,' }).CORS_ORIGINS).toEqual(['http://a.example', 'https://b.example:8443']);
    expect(() => loadConfig({ CORS_ORIGINS: 'not a url' })).toThrow(/CORS_ORIGINS/);
    expect(() => loadConfig({ GATEWAY_PORT: '70000' })).toThrow(ConfigError);
    expect(() => loadConfig({ BODY_LIMIT_BYTES: 'lots' })).toThrow(/BODY_LIMIT_BYTES/);
  });

  it('strips credentials from the Redis URL used in checkpoint URIs', () => {
    expect(publicRedisUri('redis://user:secret@cache.internal:6380/2')).toBe('redis://cache.internal:6380/2');
    expect(publicRedisUri('rediss://:pw@127.0.0.1:6379')).toBe('rediss://127.0.0.1:6379');
    expect(publicRedisUri('redis://127.0.0.1:6379/')).toBe('redis://127.0.0.1:6379');
  });
});
