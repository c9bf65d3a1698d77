export * from './route-registrar';
