export * from './keys';
export * from './scripts';
export * from './events';
