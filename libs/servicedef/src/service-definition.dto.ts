import 'reflect-metadata';
import { Type } from 'class-transformer';
import { ValidateBy, ValidateNested } from 'class-validator';
import { RuleName, rules } from './field-rules';

/**
 * The shape class-validator checks. Each property carries exactly one rule from
 * field-rules.ts, named after it; `validate-service-spec.ts` turns a failed constraint back
 * into that rule's problems (with element paths). Properties are `unknown` because these
 * objects hold unchecked input; the typed result is built only after validation passes.
 */
function Rule(name: RuleName): PropertyDecorator {
  return ValidateBy({
    name,
    validator: {
      validate: (value: unknown) => rules[name](value).length === 0,
      defaultMessage: (args) => rules[name](args?.value).map((item) => item.reason).join('; '),
    },
  });
}

export class RouteDto {
  @Rule('routeName') name?: unknown;
  @Rule('port') port?: unknown;
  @Rule('mode') mode?: unknown;
  @Rule('hostname') hostname?: unknown;
}

export class ComponentDto {
  @Rule('name') name?: unknown;
  @Rule('image') image?: unknown;
  @Rule('network') network?: unknown;
  @Rule('user') user?: unknown;
  @Rule('restart') restart?: unknown;
  @Rule('ports') ports?: unknown;
  @Rule('volumes') volumes?: unknown;
  @Rule('cmd') cmd?: unknown;
  @Rule('env') env?: unknown;
  @Rule('health') health?: unknown;
  @Rule('strategy') strategy?: unknown;
  @Rule('drain') drain?: unknown;
  @Rule('routes')
  @ValidateNested({ each: true })
  @Type(() => RouteDto)
  routes?: unknown;
}

export class ServiceDefinitionDto {
  @Rule('name') name?: unknown;
  @Rule('node') node?: unknown;
  @Rule('active') active?: unknown;
  @Rule('components')
  @ValidateNested({ each: true })
  @Type(() => ComponentDto)
  components?: unknown;
}

/**
 * The keys each level may have: exactly the properties above. Unknown keys are found and
 * stripped before class-transformer sees the input, because class-validator's whitelist
 * misses keys that exist on Object.prototype (`constructor`, `toString`, `__proto__`).
 */
export const SERVICE_KEYS: readonly string[] = ['name', 'node', 'active', 'components'];
export const COMPONENT_KEYS: readonly string[] = [
  'name',
  'image',
  'network',
  'user',
  'restart',
  'ports',
  'volumes',
  'cmd',
  'env',
  'routes',
  'health',
  'strategy',
  'drain',
];
export const ROUTE_KEYS: readonly string[] = ['name', 'port', 'mode', 'hostname'];
