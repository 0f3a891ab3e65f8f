/**
 * The operators' HTTP endpoint (METRICS_PORT): GET /metrics (Prometheus text format) and GET
 * /healthz. Bound to 127.0.0.1 only: metrics name job kinds and failure reasons, nothing for the
 * internet; a Prometheus on another machine scrapes through an SSH tunnel or a local agent.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { MotifError } from '../errors.js';
import type { HealthReport } from './health.js';

export interface OpsServerOptions {
  /** 1–65535; 0 = any free port (tests; read `OpsServer.port`). */
  port: number;
  /** Loopback only, by type: there is deliberately no way to listen on a public interface. */
  host?: '127.0.0.1';
  registry: Registry;
  /** Answers /healthz: 200 when ok, else 503 with the failing checks. */
  health: () => Promise<HealthReport>;
}

export interface OpsServer {
  /** The port actually bound. */
  readonly port: number;
  /** e.g. http://127.0.0.1:9100 */
  readonly url: string;
  /** Stops listening and drops open connections (keep-alive scrapers too). Idempotent. */
  close(): Promise<void>;
}

/**
 * @throws MotifError CONFIG_INVALID when the port is taken (or cannot be bound).
 */
export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    void handle(req, res, opts).catch((error: unknown) => {
      // A bug here must cost one response, not the process.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'is already in use' : `cannot be opened (${error.code ?? error.message})`;
      reject(new MotifError('CONFIG_INVALID', `METRICS_PORT: port ${opts.port} on ${host} ${why}; pick another port or unset METRICS_PORT.`, { cause: error }));
    });
    server.listen(opts.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://${host}:${port}`,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: OpsServerOptions): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path !== '/metrics' && path !== '/healthz') return send(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics or /healthz\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
  }
  if (path === '/metrics') return send(res, 200, opts.registry.contentType, await opts.registry.metrics(), req.method === 'HEAD');
  const report = await opts.health().catch((error: unknown): HealthReport => ({ ok: false, checks: { health: error instanceof Error ? error.message : String(error) } }));
  return send(res, report.ok ? 200 : 503, 'application/json; charset=utf-8', `${JSON.stringify(report)}\n`, req.method === 'HEAD');
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headOnly = false): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(headOnly ? undefined : body);
}
