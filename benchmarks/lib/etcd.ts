/**
 * Measurements of the etcd suite that are not per-task timings: how many gRPC calls an operation
 * makes, counted by etcd itself.
 */

/**
 * gRPC calls etcd has started on its KV, Lease and Watch services (a stream counts once), read
 * from the member's Prometheus endpoint (`/metrics`, served on the client port).
 * @param endpoint - `127.0.0.1:<client port>`
 * @returns the total
 */
export async function rpcsStarted(endpoint: string): Promise<number> {
  const text = await (await fetch(`http://${endpoint}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(
    /^grpc_server_started_total\{[^}]*grpc_service="etcdserverpb\.(?:KV|Lease|Watch)"[^}]*\} (\d+)/gm,
  )) {
    total += Number(match[1]);
  }
  return total;
}

/**
 * gRPC calls per operation: runs `operation` `count` times one after another and divides the
 * calls etcd started meanwhile by `count` (keep-alives of open sessions are messages on a stream
 * that is already open, so they do not count).
 * @param endpoint - the member's client endpoint
 * @param count - how many operations
 * @param operation - one operation
 * @returns calls per operation
 */
export async function rpcsPerOperation(
  endpoint: string,
  count: number,
  operation: () => Promise<unknown>,
): Promise<number> {
  const before = await rpcsStarted(endpoint);
  for (let i = 0; i < count; i++) await operation();
  return ((await rpcsStarted(endpoint)) - before) / count;
}
