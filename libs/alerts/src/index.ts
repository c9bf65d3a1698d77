export * from './alert-sender';
export * from './command-alert-sender';
export * from './alerts.module';
export * from './fan-out-alert-sender';
export * from './webhook-alert-sender';
