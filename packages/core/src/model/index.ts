export * from './netns-ref.js';
export * from './network.js';
export * from './endpoint.js';
