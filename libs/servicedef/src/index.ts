export { parseServiceDefinition, serializeServiceDefinition, setActiveInDefinition } from './service-definition';
export { validateServiceSpec } from './validate-service-spec';
export { loadServiceFile, loadServiceDir } from './service-files';
export { toProtoServiceSpec, fromProtoServiceSpec, toProtoComponent, fromProtoComponent } from './proto-spec';
export { componentSpecHash, canonicalJson } from './component-hash';
export { resolveRouteHostname, routeEnvName } from './route-naming';
export { parseImageReference, imageReferenceProblem } from './image-reference';
export type { ImageReference } from './image-reference';
export { specChanges, envChange } from './spec-diff';
