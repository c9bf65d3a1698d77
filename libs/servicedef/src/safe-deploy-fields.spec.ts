import { HEAD, issuesOf } from './testing/definition-issues';
import { mcpv1 } from '@mcp/proto';
import { fromProtoServiceSpec, toProtoServiceSpec } from './proto-spec';
import { parseServiceDefinition, serializeServiceDefinition } from './service-definition';

/** SPEC §8's component fields: health, strategy, drain. */
const ROUTE = `\n[[components.routes]]\nname = "admin"\nport = 8443\n`;

describe('safe-deploy fields', () => {
  it('should parse, export and re-parse health, strategy and drain unchanged', () => {
    const text = `${HEAD}strategy = "start-first"\ndrain = "0s"\n\n[components.health]\nhttp = "/up"\nroute = "admin"\ninterval = "500ms"\ntimeout = "2s"\nstart_period = "30s"\nhealthy = 2\n${ROUTE}`;
    const spec = parseServiceDefinition(text, 'web.toml');

    expect(spec.components[0]).toMatchObject({
      strategy: 'start-first',
      drain: '0s',
      health: { http: '/up', route: 'admin', interval: '500ms', timeout: '2s', start_period: '30s', healthy: 2 },
    });
    expect(parseServiceDefinition(serializeServiceDefinition(spec), 'again.toml')).toEqual(spec);
    expect(fromProtoServiceSpec(toProtoServiceSpec(spec), 'rift')).toEqual(spec);
  });

  it('should keep a spec without the new fields free of them on the wire and back', () => {
    const spec = parseServiceDefinition(HEAD, 'web.toml');
    const wire: mcpv1.ServiceSpec = toProtoServiceSpec(spec);

    expect(wire.components[0]).not.toHaveProperty('health');
    expect(wire.components[0]).not.toHaveProperty('strategy');
    expect(fromProtoServiceSpec(wire, 'rift')).toEqual(spec);
  });

  it('should accept a cmd check without routes and a tcp check on an explicit port', () => {
    expect(() => parseServiceDefinition(`${HEAD}\n[components.health]\ncmd = ["/bin/check", "--quick"]\n`, 'a.toml')).not.toThrow();
    expect(() => parseServiceDefinition(`${HEAD}ports = ["127.0.0.1:9090:80"]\n\n[components.health]\ntcp = true\nport = 9090\n`, 'b.toml')).not.toThrow();
  });

  it.each([
    ['a bad strategy', `${HEAD}strategy = "blue-green"\n${ROUTE}`, 'components[0].strategy', 'must be "start-first" or "stop-first"'],
    ['a bad drain', `${HEAD}drain = "5 seconds"\n${ROUTE}`, 'components[0].drain', '"5 seconds" is not a duration (use a number with a unit: 500ms, 5s, 2m)'],
    ['start-first with explicit ports', `${HEAD}strategy = "start-first"\nports = ["8080:80"]\n${ROUTE}`, 'components[0].strategy', 'start-first cannot hold explicit host ports twice: remove `ports` (use routes) or use stop-first'],
    ['start-first without routes', `${HEAD}strategy = "start-first"\n`, 'components[0].strategy', 'start-first switches routes, and this component has none: add a route or use stop-first'],
    ['health that is not a table', `${HEAD}health = "/up"\n`, 'components[0].health', 'must be a table ([components.health])'],
    ['two kinds of check', `${HEAD}\n[components.health]\nhttp = "/up"\ntcp = true\n${ROUTE}`, 'components[0].health', 'has http and tcp: use exactly one of http, tcp, cmd'],
    ['no kind of check', `${HEAD}\n[components.health]\ninterval = "1s"\n${ROUTE}`, 'components[0].health', 'needs one of http, tcp or cmd'],
    ['an http path without a slash', `${HEAD}\n[components.health]\nhttp = "up"\n${ROUTE}`, 'components[0].health.http', 'must be a path starting with "/", e.g. "/up"'],
    ['tcp = false', `${HEAD}\n[components.health]\ntcp = false\n${ROUTE}`, 'components[0].health.tcp', 'must be true (leave it out for no TCP check)'],
    ['an empty cmd', `${HEAD}\n[components.health]\ncmd = []\n`, 'components[0].health.cmd', 'must be a non-empty array of strings, e.g. ["/bin/check"]'],
    ['a zero interval', `${HEAD}\n[components.health]\nhttp = "/"\ninterval = "0s"\n${ROUTE}`, 'components[0].health.interval', 'must be longer than 0'],
    ['a bad timeout', `${HEAD}\n[components.health]\nhttp = "/"\ntimeout = 2\n${ROUTE}`, 'components[0].health.timeout', 'must be a duration string like "5s"'],
    ['a bad start_period', `${HEAD}\n[components.health]\nhttp = "/"\nstart_period = "soon"\n${ROUTE}`, 'components[0].health.start_period', '"soon" is not a duration (use a number with a unit: 500ms, 5s, 2m)'],
    ['healthy = 0', `${HEAD}\n[components.health]\nhttp = "/"\nhealthy = 0\n${ROUTE}`, 'components[0].health.healthy', 'must be an integer 1-100'],
    ['an unknown health key', `${HEAD}\n[components.health]\nhttp = "/"\nretries = 3\n${ROUTE}`, 'components[0].health.retries', 'unknown key'],
    ['a route that does not exist', `${HEAD}\n[components.health]\nhttp = "/"\nroute = "api"\n${ROUTE}`, 'components[0].health.route', 'no route named "api" in this component'],
    ['a port that is not one of ports', `${HEAD}ports = ["127.0.0.1:9090:80"]\n\n[components.health]\ntcp = true\nport = 9091\n`, 'components[0].health.port', '9091 is not the host port of one of this component\'s ports'],
    ['an http check with nothing to probe', `${HEAD}\n[components.health]\nhttp = "/"\n`, 'components[0].health', 'http and tcp checks probe a host port: add a route, or set port to one of `ports`'],
  ])('should refuse %s with file and path', (_what, text, path, reason) => {
    expect(issuesOf(text)).toContainEqual({ file: 'web.toml', path, reason });
  });
});
