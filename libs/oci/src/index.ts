export * from './image-reference';
export * from './oci-config';
export * from './registry-login';
export * from './registry-auth';
export * from './oci.module';
