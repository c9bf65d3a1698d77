export * from './acme-config';
export * from './certificate-authority';
export * from './challenge-responder';
export * from './certificate-manager';
export * from './acme.module';
