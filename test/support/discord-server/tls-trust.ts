import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import tls from 'node:tls';

/**
 * @discordjs/voice always dials `wss://<endpoint>`, so the local voice endpoint needs TLS. This is a
 * self-signed CA certificate for 127.0.0.1 valid 2020–2120, generated once for tests only; the key is
 * not a secret.
 */
export const VOICE_TLS_CERT_PATH: string = fileURLToPath(new URL('./tls/cert.pem', import.meta.url));
export const VOICE_TLS_KEY_PATH: string = fileURLToPath(new URL('./tls/key.pem', import.meta.url));

export function readVoiceTls(): { cert: string; key: string } {
  return { cert: readFileSync(VOICE_TLS_CERT_PATH, 'utf8'), key: readFileSync(VOICE_TLS_KEY_PATH, 'utf8') };
}

const trustedPorts = new Map<number, string>();
let originalConnect: typeof tls.connect | null = null;

/**
 * Makes TLS connections from this process to 127.0.0.1:`port` trust `caPem` (and only those), so an
 * in-process bot's @discordjs/voice (which uses `ws` → `tls.connect`) accepts the test certificate without
 * disabling verification globally. A bot in a child process should get `NODE_EXTRA_CA_CERTS` instead.
 * Returns the undo function.
 */
export function trustLocalCertificate(port: number, caPem: string): () => void {
  trustedPorts.set(port, caPem);
  if (!originalConnect) {
    const original = tls.connect;
    originalConnect = original;
    const patched = function connect(this: unknown, ...args: unknown[]): tls.TLSSocket {
      const [first] = args;
      if (first && typeof first === 'object') {
        const options = first as tls.ConnectionOptions;
        // ws passes the port as the URL's string.
        const ca = trustedPorts.get(Number(options.port));
        const isLocal = options.host === '127.0.0.1' || options.host === 'localhost';
        if (ca && isLocal && !options.ca) args[0] = { ...options, ca: [ca] };
      }
      return (original as (...a: unknown[]) => tls.TLSSocket).apply(this, args);
    };
    tls.connect = patched as typeof tls.connect;
  }
  return () => {
    trustedPorts.delete(port);
    if (trustedPorts.size === 0 && originalConnect) {
      tls.connect = originalConnect;
      originalConnect = null;
    }
  };
}
