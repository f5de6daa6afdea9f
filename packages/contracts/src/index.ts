export * from './enums';
export * from './errors';
export * from './phase-config';
export * from './requests';
export * from './responses';
export * from './events';
export * from './transitions';
export * from './presets';
