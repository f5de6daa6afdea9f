export * from './config';
export * from './rbac';
export * from './principal';
export * from './api-keys';
export * from './jwt';
export * from './authenticator';
