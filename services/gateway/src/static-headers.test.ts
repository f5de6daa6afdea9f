import express from 'express';
import helmet from 'helmet';
import request from 'supertest';
import { HELMET_OPTIONS } from './app';
import { helmetHeaders, staticHeaders } from './static-headers';

describe('helmet headers computed once', () => {
  it('are exactly what helmet sends', async () => {
    const viaHelmet = express().use(helmet(HELMET_OPTIONS)).get('/', (_req, res) => res.json({}));
    const viaStatic = express().use(staticHeaders(helmetHeaders(HELMET_OPTIONS))).get('/', (_req, res) => res.json({}));
    const pick = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => !['date', 'etag', 'content-length', 'connection', 'keep-alive'].includes(k)));
    const [a, b] = await Promise.all([request(viaHelmet).get('/'), request(viaStatic).get('/')]);
    expect(pick(b.headers as Record<string, string>)).toEqual(pick(a.headers as Record<string, string>));
    expect(Object.keys(pick(a.headers as Record<string, string>)).length).toBeGreaterThan(10);
  });
});
