// eslint-disable-next-line @typescript-eslint/no-require-imports
const lib = require('../../bench/lib') as {
  ratioSpread: (a: number[], b: number[], options?: { invert?: boolean; digits?: number }) => { min: number; median: number; max: number; rounds: number } | undefined;
  formatSpread: (spread: unknown) => string;
  compare: (input: {
    id: string;
    a: { label: string; fn: () => Promise<unknown> };
    b: { label: string; fn: () => Promise<unknown> };
    runs: number;
    warmup?: number;
    before?: (side: unknown) => void;
  }) => Promise<{ samplesA: number[]; samplesB: number[]; ratio: number; ratioSpread: { min: number; median: number; max: number; rounds: number } }>;
  markdownTable: (results: unknown[]) => string;
};

describe('bench/lib.js: the spread of the per-round ratio (issue #20 item 4)', () => {
  it('should pair round i of A with round i of B and give min, median and max of A/B', () => {
    // Rounds: 110/100 = 1.1, 240/200 = 1.2, 90/100 = 0.9; medians alone give 110/100 = 1.1.
    expect(lib.ratioSpread([110, 240, 90], [100, 200, 100])).toEqual({ min: 0.9, median: 1.1, max: 1.2, rounds: 3 });
  });

  it('should take the median of an even number of rounds as the mean of the middle two', () => {
    expect(lib.ratioSpread([100, 300, 120, 100], [100, 200, 100, 125])).toEqual({ min: 0.8, median: 1.1, max: 1.5, rounds: 4 });
  });

  it('should invert for throughputs (time B / time A) and round to 3 digits by default', () => {
    expect(lib.ratioSpread([200, 300], [100, 100], { invert: true })).toEqual({ min: 0.333, median: 0.417, max: 0.5, rounds: 2 });
  });

  it('should leave out rounds with a missing side or a zero divisor, and give undefined when none is left', () => {
    expect(lib.ratioSpread([100, 100, 100], [50, 0])).toEqual({ min: 2, median: 2, max: 2, rounds: 1 });
    expect(lib.ratioSpread([], [])).toBeUndefined();
    expect(lib.ratioSpread([1], [0])).toBeUndefined();
  });

  it('should print the spread as min / median / max, or a dash without one', () => {
    expect(lib.formatSpread({ min: 0.9, median: 1.1, max: 1.2, rounds: 3 })).toBe('0.9 / 1.1 / 1.2');
    expect(lib.formatSpread(undefined)).toBe('—');
  });

  it('should report from compare() the spread of the rounds it kept (warm-up left out), alternating A and B', async () => {
    const order: string[] = [];
    let round = 0;
    const result = await lib.compare({
      id: 'T',
      a: { label: 'a', fn: async () => order.push('a') },
      b: { label: 'b', fn: async () => order.push('b') },
      runs: 4,
      warmup: 1,
      before: () => round++,
    });
    expect(order).toEqual(['a', 'b', 'b', 'a', 'a', 'b', 'b', 'a', 'a', 'b']);
    expect(round).toBe(10);
    expect(result.samplesA).toHaveLength(4);
    expect(result.ratioSpread.rounds).toBe(4);
    // The spread is the one computed from the raw samples of the kept rounds.
    expect(result.ratioSpread.min).toBeLessThanOrEqual(result.ratioSpread.median);
    expect(result.ratioSpread.median).toBeLessThanOrEqual(result.ratioSpread.max);
  });

  it('should show the spread in its own column of the Markdown table', () => {
    const table = lib.markdownTable([
      { id: 'P2', a: '`mcp ps`', b: 'plain', runs: 3, unit: 'ms', medianA: 110, medianB: 100, ratio: 1.1, ratioSpread: { min: 0.9, median: 1.1, max: 1.2, rounds: 3 }, goal: { text: '≤ 1.05×' }, met: false },
      { id: 'P7', a: 'agent idle RSS', runs: 20, unit: 'MiB', medianA: 70, goal: { text: '≤ 80 MiB' }, met: true },
    ]);
    const [header, , p2, p7] = table.trim().split('\n');
    expect(header).toContain('| A/B | A/B per round (min / median / max) | goal |');
    expect(p2).toContain('| 1.1 | 0.9 / 1.1 / 1.2 | ≤ 1.05× | no |');
    expect(p7).toContain('| — | — | ≤ 80 MiB | yes |');
  });
});
