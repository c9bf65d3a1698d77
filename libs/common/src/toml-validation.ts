import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
// The three parts of class-validator MCP uses, required directly: its index loads every one of
// its ~100 decorators and validator.js, ~60 ms of each `mcp` command's start (bench P2).
import { ValidateNested } from 'class-validator/cjs/decorator/common/ValidateNested';
import { registerDecorator } from 'class-validator/cjs/register-decorator';
import type { ValidationError as ClassValidationError } from 'class-validator/cjs/validation/ValidationError';
import { Validator } from 'class-validator/cjs/validation/Validator';
import type { ValidationIssue } from './errors';

/**
 * How MCP validates its TOML documents (service definitions, the agent's and the CLI's
 * config) with class-validator: one decorated class per TOML table, MCP's own rules as
 * custom constraints (`@Check`), nested tables and arrays of tables with `@Table` and
 * `@TableList` (class-transformer `@Type` + `@ValidateNested`), unknown keys refused through
 * `whitelist` + `forbidNonWhitelisted`. `validateTable` runs it and hands class-validator's
 * nested ValidationError tree to `flattenValidationErrors`, the one place that turns it into
 * `path: reason` issues with element paths (`components[1].routes[0].port`).
 */
export type Table = Record<string, unknown>;

export function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/**
 * A problem a rule found, at a path suffix relative to the value (`''` for the value itself,
 * `[2]` for an element, `.KEY` for a key of a free-form table), so list rules report each
 * bad element at its own path.
 */
export interface RuleProblem {
  suffix: string;
  reason: string;
}

/** Judges one value; called for absent keys too (value `undefined`), so it can require them. */
export type FieldRule = (value: unknown) => RuleProblem[];

export const ok: RuleProblem[] = [];

export function problem(reason: string, suffix = ''): RuleProblem[] {
  return [{ suffix, reason }];
}

/** An array of tables: a value that is not one, or an element that is not a table, is reported. */
export function tableList(options: { notArray?: string; empty?: string; required?: string } = {}): FieldRule {
  return (value) => {
    if (value === undefined) return options.required ? problem(options.required) : ok;
    if (!Array.isArray(value)) return problem(options.notArray ?? 'must be an array of tables');
    if (value.length === 0 && options.empty) return problem(options.empty);
    const problems: RuleProblem[] = [];
    value.forEach((item: unknown, index) => {
      if (!isTable(item)) problems.push({ suffix: `[${index}]`, reason: 'must be a table' });
    });
    return problems;
  };
}

/** A table: anything else is reported (with `reason`), and nothing below it is checked. */
export function table(reason = 'must be a table'): FieldRule {
  return (value) => (value === undefined || isTable(value) ? ok : problem(reason));
}

/** Constraint names of MCP rules start with this; their message carries the problems as JSON. */
const RULE_PREFIX = 'mcp:';

/**
 * A custom class-validator constraint running an MCP rule. The rule's problems travel in the
 * constraint's message (JSON), so each keeps its own suffix: class-validator's `each: true`
 * would report a bad list element on the list, and lose which one.
 */
export function Check(name: string, rule: FieldRule): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: `${RULE_PREFIX}${name}`,
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => rule(value).length === 0,
        defaultMessage: (args) => JSON.stringify(rule(args?.value)),
      },
    });
  };
}

/** A nested TOML table of class `type` (`[section]`, `[components.health]`). */
export function SubTable(type: () => new () => object, rule: FieldRule = table()): PropertyDecorator {
  return (target, key) => {
    Type(type)(target, key);
    ValidateNested()(target, key);
    Check('table', rule)(target, key);
  };
}

/** An array of TOML tables of class `type` (`[[components]]`); `rule` judges the array itself. */
export function TableList(type: () => new () => object, rule: FieldRule = tableList()): PropertyDecorator {
  return (target, key) => {
    Type(type)(target, key);
    ValidateNested()(target, key);
    Check('table-list', rule)(target, key);
  };
}

const unknownKeyReasons = new WeakMap<object, string>();

/** The reason given for a key the class does not declare; `unknown key` unless said. */
export function UnknownKeys(reason: string): ClassDecorator {
  return (target) => {
    unknownKeyReasons.set(target, reason);
  };
}

/**
 * Keys class-transformer would skip silently (`__proto__`, `constructor`, names of
 * Object.prototype members such as `toString`) are carried under this prefix, so that the
 * whitelist still sees, and refuses, them. `tomlKey` gives back the key as written.
 */
const SHADOWED = '\u0000';

export function tomlKey(key: string): string {
  return key.startsWith(SHADOWED) ? key.slice(SHADOWED.length) : key;
}

function shadowSafe(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shadowSafe);
  if (!isTable(value)) return value;
  const copy: Table = {};
  for (const [key, item] of Object.entries(value)) {
    const safe = key === '__proto__' || key === 'constructor' || key in Object.prototype ? `${SHADOWED}${key}` : key;
    Object.defineProperty(copy, safe, { value: shadowSafe(item), enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** Validates `input` (parsed TOML) against the decorated class; returns every problem, paths from `at`. */
export function validateTable(type: new () => object, input: unknown, at = ''): ValidationIssue[] {
  if (!isTable(input)) return [{ path: at, reason: 'must be a table' }];
  const source = shadowSafe(input) as Table;
  const instance = plainToInstance(type, source) as object;
  const errors = new Validator().validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  return flattenValidationErrors(errors, source, at);
}

/** Constraints that only repeat what an MCP rule on the same key says better (`must be a table`). */
const REPEATS = new Set(['nestedValidation', 'unknownValue']);

function childPath(parent: string, key: string, element: boolean): string {
  if (element) return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

/**
 * The one function that turns class-validator's nested ValidationError tree into issues with
 * element paths. `source` is the value the errors are about (the parsed TOML at that level):
 * it orders the errors as the keys were written (then absent keys, in declaration order) and
 * says whether a child is an array element (`[1]`) or a key (`.port`). A value its own rule
 * refused (a problem with suffix `''`) is not looked into: `health: must be a table` says it all.
 */
export function flattenValidationErrors(errors: ClassValidationError[], source: unknown, at = ''): ValidationIssue[] {
  const element = Array.isArray(source);
  const order = isTable(source) || element ? Object.keys(source as object) : [];
  const rank = (error: ClassValidationError) => {
    const index = order.indexOf(error.property);
    return index < 0 ? order.length : index;
  };
  const issues: ValidationIssue[] = [];
  for (const error of [...errors].sort((a, b) => rank(a) - rank(b))) {
    if (error.property === undefined) continue;
    const path = childPath(at, tomlKey(error.property), element);
    const own: RuleProblem[] = [];
    for (const [name, message] of Object.entries(error.constraints ?? {})) {
      if (REPEATS.has(name)) continue;
      if (name.startsWith(RULE_PREFIX)) own.push(...(JSON.parse(message) as RuleProblem[]));
      else if (name === 'whitelistValidation') own.push({ suffix: '', reason: unknownKeyReasons.get(error.target?.constructor ?? Object) ?? 'unknown key' });
      else own.push({ suffix: '', reason: message });
    }
    for (const found of own) issues.push({ path: path + found.suffix, reason: found.reason });
    const value = (source as Table | undefined)?.[error.property];
    if (own.some((found) => found.suffix === '') || !(isTable(value) || Array.isArray(value))) continue;
    if (Array.isArray(value)) {
      // Elements that are not tables were reported by the list's rule.
      const children = (error.children ?? []).filter((child) => isTable(value[Number(child.property)]));
      issues.push(...flattenValidationErrors(children, value, path));
    } else {
      issues.push(...flattenValidationErrors(error.children ?? [], value, path));
    }
  }
  return issues;
}
