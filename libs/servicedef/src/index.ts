export { parseServiceDefinition, serializeServiceDefinition, setActiveInDefinition } from './service-definition';
export { validateServiceSpec } from './validate-service-spec';
export { loadServiceFile, loadServiceDir } from './service-files';
export { toProtoServiceSpec, fromProtoServiceSpec } from './proto-spec';
export { componentSpecHash, canonicalJson } from './component-hash';
export { resolveRouteHostname, routeEnvName } from './route-naming';
export { parseImageReference, imageReferenceProblem } from './image-reference';
export type { ImageReference } from './image-reference';
export { SECRET_NAME } from './field-rules';
