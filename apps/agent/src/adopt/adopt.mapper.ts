import type { mcpv1 } from '@mcp/proto';
import { toProtoServiceSpec } from '@mcp/servicedef';
import type { AdoptResult } from './adopt.service';

/** AdoptService's result as the AdoptContainers response: AdoptService never sees a proto type. */
export function adoptContainersResponse(result: AdoptResult): mcpv1.AdoptContainersResponse {
  return { service: result.service, results: result.results.map((r) => ({ ...r })), spec: toProtoServiceSpec(result.spec) };
}
