export * from './errors.ts';
export * from './version.ts';
export * from './chat.ts';
export * from './events.ts';
export * from './support.ts';
export * from './calls.ts';
export * from './media.ts';
export * from './notify.ts';
