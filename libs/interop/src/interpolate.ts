/**
 * Compose's variable interpolation (compose-spec "Interpolation"): `$VAR`, `${VAR}`,
 * `${VAR:-default}` / `${VAR-default}`, `${VAR:?message}` / `${VAR?message}`,
 * `${VAR:+alt}` / `${VAR+alt}`, and `$$` for a literal `$`. Defaults may hold further
 * variables. Unset variables become '' and are reported through `onUnset`.
 */
export interface InterpolationContext {
  variables: ReadonlyMap<string, string>;
  /** Called once per unset variable used without a default. */
  onUnset(name: string): void;
  /** `${VAR:?message}` of an unset variable. */
  onRequired(name: string, message: string): void;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

export function interpolate(text: string, context: InterpolationContext): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const char = text[i];
    if (char !== '$') {
      out += char;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const close = matchingBrace(text, i + 1);
      if (close < 0) {
        out += text.slice(i);
        break;
      }
      out += expandBraced(text.slice(i + 2, close), context);
      i = close + 1;
      continue;
    }
    const name = NAME.exec(text.slice(i + 1))?.[0];
    if (!name) {
      out += '$';
      i++;
      continue;
    }
    out += lookup(name, context);
    i += 1 + name.length;
  }
  return out;
}

function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function lookup(name: string, context: InterpolationContext): string {
  const value = context.variables.get(name);
  if (value === undefined) {
    context.onUnset(name);
    return '';
  }
  return value;
}

function expandBraced(body: string, context: InterpolationContext): string {
  const name = NAME.exec(body)?.[0];
  if (!name) return `\${${body}}`;
  const rest = body.slice(name.length);
  if (rest === '') return lookup(name, context);
  const operator = /^(:?[-?+])/.exec(rest)?.[1];
  if (!operator) return `\${${body}}`;
  const argument = interpolate(rest.slice(operator.length), context);
  const value = context.variables.get(name);
  const set = operator.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
  switch (operator.replace(':', '')) {
    case '-':
      return set ? (value as string) : argument;
    case '+':
      return set ? argument : '';
    default:
      if (!set) context.onRequired(name, argument);
      return value ?? '';
  }
}

/** `.env` / `env_file` lines: `KEY=VALUE`, optional `export `, quotes stripped, `#` comments. */
export function parseEnvFile(text: string): Map<string, string> {
  const variables = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim().replace(/^export\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const equals = line.indexOf('=');
    if (equals <= 0) {
      continue;
    }
    const key = line.slice(0, equals).trim();
    let value = line.slice(equals + 1).trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"');
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    variables.set(key, value);
  }
  return variables;
}

/** Splits a command string into words as a POSIX shell would (quotes, backslashes), without expanding anything. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) word += text[++i];
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
