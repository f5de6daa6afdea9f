export * from './queues';
export * from './executor';
export * from './errors';
export * from './dry-run';
export * from './registry';
export * from './artifacts';
export * from './thread-executor';
export * from './command';
