export * from './env';
export * from './logger';
export * from './redis';
export * from './shutdown';
export * from './resources';
export * from './metrics';
export * from './deadline';
export * from './gpu';
