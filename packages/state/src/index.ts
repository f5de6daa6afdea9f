export * from './keys';
export * from './scripts';
export * from './events';
export * from './session-store';
export * from './checkpoint-store';
export * from './preset-store';
export * from './views';
export * from './test-support';
