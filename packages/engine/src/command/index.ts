export * from './spec';
export * from './protocol';
export * from './command-executor';
export { processGroupRssMb, isProcessAlive } from './process-group';
