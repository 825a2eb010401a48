export * from './netns-ref.js';
export * from './network.js';
export * from './endpoint.js';
export * from './maintenance.js';
export * from './owner.js';
export * from './sandbox.js';
export * from './names.js';
