import type { ComponentSpec } from '@mcp/common';
import { setComponentInDefinition } from './component-rewrite';
import { parseServiceDefinition } from './service-definition';

const HEAD = `# shop: the web shop
name = "shop" # the service
node = "alpha"
active = true

`;
const API = `# the API, deployed first
[[components]]
name = "api"
image = "img/api:1.0" # pinned on purpose
env = ["A=1"]

[[components.routes]]
port = 8443 # admin listener
`;
const WEB = `
# the web front end
[[components]]
name = "web" # front
# the image moves with each release
image = "img/web:2.0" # current
cmd = ["/bin/web",
  "--serve"] # multi-line
env = ["FOO=1", "BAR=2"]
drain = "1s"

[components.health]
http = "/up" # the app's own check
interval = "1s"

[[components.routes]]
port = 443 # public
mode = "l4"
`;
const TAIL = `
# end of file: keep me
`;
const TEXT = HEAD + API + WEB + TAIL;

function component(text: string, name: string): ComponentSpec {
  return parseServiceDefinition(text, 'shop.toml').components.find((c) => c.name === name) as ComponentSpec;
}

describe('setComponentInDefinition', () => {
  it('should rewrite only the changed keys of that component, keeping every comment and the other component byte-for-byte', () => {
    const web = { ...component(TEXT, 'web'), image: 'img/web:1.0', env: ['FOO=1'], drain: undefined, restart: 'always' };

    const out = setComponentInDefinition(TEXT, web, 'shop.toml');

    expect(out.startsWith(HEAD + API)).toBe(true);
    expect(out.endsWith(TAIL)).toBe(true);
    expect(out).toContain('# the web front end\n[[components]]\nname = "web" # front\n# the image moves with each release\nimage = "img/web:1.0" # current\n');
    expect(out).toContain('cmd = ["/bin/web",\n  "--serve"] # multi-line\n');
    expect(out).toContain('env = ["FOO=1"]\n');
    expect(out).not.toContain('drain');
    expect(out).toContain('restart = "always"\n');
    expect(out).toContain('http = "/up" # the app\'s own check\n');
    expect(out).toContain('port = 443 # public\n');
    expect(component(out, 'web')).toEqual(web);
    expect(component(out, 'api')).toEqual(component(TEXT, 'api'));
  });

  it('should leave the text as it is when the component is unchanged', () => {
    expect(setComponentInDefinition(TEXT, component(TEXT, 'api'))).toBe(TEXT);
    expect(setComponentInDefinition(TEXT, component(TEXT, 'web'))).toBe(TEXT);
  });

  it('should add and remove the health table, and rewrite the routes when their number changes', () => {
    const api = component(TEXT, 'api');
    const withHealth = setComponentInDefinition(TEXT, { ...api, health: { tcp: true }, routes: [...api.routes, { port: 9443, mode: 'l4', name: 'admin' }] });
    expect(withHealth.startsWith(HEAD)).toBe(true);
    expect(withHealth.endsWith(WEB + TAIL)).toBe(true);
    expect(component(withHealth, 'api').health).toEqual({ tcp: true });
    expect(component(withHealth, 'api').routes.map((r) => r.port)).toEqual([8443, 9443]);

    const web = component(TEXT, 'web');
    const without = setComponentInDefinition(TEXT, { ...web, health: undefined });
    expect(without.startsWith(HEAD + API)).toBe(true);
    expect(without).not.toContain('[components.health]');
    expect(component(without, 'web')).toEqual({ ...web, health: undefined });
  });

  it('should append a component the file lacks', () => {
    const extra = { ...component(TEXT, 'api'), name: 'worker', routes: [] };
    const out = setComponentInDefinition(TEXT, extra);
    expect(out.startsWith(TEXT)).toBe(true);
    expect(component(out, 'worker')).toEqual(extra);
  });

  it('should refuse with file and path when the text is not valid TOML', () => {
    expect(() => setComponentInDefinition('name = [', component(TEXT, 'api'), 'shop.toml')).toThrow(/shop\.toml: .*invalid TOML/);
  });
});
