/**
 * Loaded first by main.ts. Nest's ConsoleLogger builds an `Intl.DateTimeFormat` as soon as
 * @nestjs/common is loaded; building one pages in ~5 MB of ICU locale data that then stays in
 * the daemon's RSS (bench P7), for a formatter the agent never uses (it logs JSON through
 * JsonLogger). While @nestjs/common loads, and only then, `Intl.DateTimeFormat` hands out a
 * formatter that builds the real one on first use; the global is restored right after.
 */
const RealDateTimeFormat = Intl.DateTimeFormat;

function lazyDateTimeFormat(locales?: string | string[], options?: Intl.DateTimeFormatOptions): Pick<Intl.DateTimeFormat, 'format' | 'formatToParts' | 'resolvedOptions'> {
  let real: Intl.DateTimeFormat | undefined;
  const get = (): Intl.DateTimeFormat => (real ??= new RealDateTimeFormat(locales, options));
  return {
    format: (date) => get().format(date),
    formatToParts: (date) => get().formatToParts(date),
    resolvedOptions: () => get().resolvedOptions(),
  };
}

// A Proxy of the real constructor keeps its type (and supportedLocalesOf); `new` and calls
// get the lazy formatter instead.
Intl.DateTimeFormat = new Proxy(RealDateTimeFormat, {
  construct: (_target, args: Parameters<typeof lazyDateTimeFormat>) => lazyDateTimeFormat(...args),
  apply: (_target, _this, args: Parameters<typeof lazyDateTimeFormat>) => lazyDateTimeFormat(...args),
});
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- must load between the two assignments
  require('@nestjs/common');
} finally {
  Intl.DateTimeFormat = RealDateTimeFormat;
}

export {};
