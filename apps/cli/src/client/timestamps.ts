/** Protobuf Timestamp to Date, without importing @mcp/proto (which loads gRPC code). */
export function fromTimestamp(ts: { seconds: number | string; nanos: number } | undefined | null): Date | undefined {
  if (!ts) return undefined;
  return new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1_000_000));
}
