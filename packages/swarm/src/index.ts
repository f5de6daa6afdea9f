export * from './agent';
export * from './errors';
export * from './roles';
export * from './swarm';
export * from './topology';
