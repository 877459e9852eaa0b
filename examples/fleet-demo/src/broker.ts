// The demo's embedded broker: Aedes (MQTT 3.1.1) behind a Node TLS server that requires a
// client certificate from the fleet CA. Unlike Mosquitto, it also ties the MQTT client id to
// the certificate CN, and refuses SUBSCRIBE outside the device's own tree with SUBACK 0x80.
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  readonly url: string;
  readonly port: number;
  /** A second listener for back-end applications; `pause()` leaves it up (only the devices' link fails). */
  readonly backendUrl: string;
  /** Stops accepting on the device listener and drops its connections (the link "goes away"). */
  pause(): Promise<void>;
  /** Listens again on the same port. */
  resume(): Promise<void>;
  close(): Promise<void>;
  readonly stats: { connects: number; refusedHandshakes: number; deniedPublishes: number; deniedSubscribes: number; messages: number };
}

function ownTree(id: string, topic: string): boolean {
  return topic.startsWith(`devices/${id}/`) || topic.startsWith(`$aws/things/${id}/shadow/`) || topic.startsWith(`$aws/things/${id}/jobs/`) || topic.startsWith(`$aws/things/${id}/streams/`);
}

// The jobs and stream services answer every thing's jobs and stream topics and serve the jobs
// operator API; an operator identity may use its own operator topics only.
const anyJobs = (topic: string): boolean => /^\$aws\/things\/[^/]+\/(jobs|streams)\//.test(topic) || topic.startsWith('$outpost/jobs/ops/');

// A service identity (e.g. the reference shadow service, or an operator's console writing
// desired state) may read and write every device's shadow topics, and nothing else.
function anyShadow(topic: string): boolean {
  return /^\$aws\/things\/[^/]+\/shadow\//.test(topic);
}

function certCn(socket: unknown): string | undefined {
  const s = socket as Partial<TLSSocket> | undefined;
  const cert = typeof s?.getPeerCertificate === 'function' ? s.getPeerCertificate() : undefined;
  const cn = cert?.subject?.CN;
  return typeof cn === 'string' ? cn : undefined;
}

/** Starts the embedded TLS broker on 127.0.0.1 (a free port unless one is given). */
export async function startEmbeddedBroker(opts: { caPem: string; certPem: string; keyPem: string; port?: number; apps?: readonly string[]; services?: readonly string[]; jobServices?: readonly string[]; operators?: readonly string[] }): Promise<EmbeddedBroker> {
  const stats = { connects: 0, refusedHandshakes: 0, deniedPublishes: 0, deniedSubscribes: 0, messages: 0 };
  const apps = new Set(opts.apps ?? []);
  const services = new Set(opts.services ?? []);
  const jobServices = new Set(opts.jobServices ?? []);
  const operators = new Set(opts.operators ?? []);
  const fleetWide = (id: string, topic: string): boolean =>
    (services.has(id) && anyShadow(topic)) || (jobServices.has(id) && anyJobs(topic)) || (operators.has(id) && topic.startsWith(`$outpost/jobs/ops/${id}/`));
  const aedes = await Aedes.createBroker({
    authenticate(client, _username, _password, done) {
      const cn = certCn(client.conn);
      if (cn === undefined || cn !== client.id) {
        const err = Object.assign(new Error(`client id "${client.id}" is not the certificate CN "${cn ?? '-'}"`), { returnCode: 5 });
        done(err as never, false);
        return;
      }
      stats.connects++;
      done(null, true);
    },
    authorizePublish(client, packet, done) {
      if (client !== null && !ownTree(client.id, packet.topic) && !fleetWide(client.id, packet.topic)) {
        stats.deniedPublishes++;
        done(new Error('not authorized'));
        return;
      }
      stats.messages++;
      done(null);
    },
    authorizeSubscribe(client, sub, done) {
      const appRead = apps.has(client.id) && (sub.topic.startsWith('devices/') || sub.topic.startsWith('$aws/things/'));
      if (!appRead && !fleetWide(client.id, sub.topic) && !ownTree(client.id, sub.topic)) {
        stats.deniedSubscribes++;
        done(null, null); // null subscription = SUBACK 0x80 (an error here would drop the connection)
        return;
      }
      done(null, sub);
    },
  });
  const tlsOptions = { ca: opts.caPem, cert: opts.certPem, key: opts.keyPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' } as const;
  const backendSockets = new Set<TLSSocket>();
  const backend = createServer(tlsOptions, (socket) => {
    backendSockets.add(socket);
    socket.on('close', () => backendSockets.delete(socket));
    socket.setNoDelay(true);
    aedes.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    backend.once('error', reject);
    backend.listen(0, '127.0.0.1', () => resolve());
  });
  const backendPort = (backend.address() as AddressInfo).port;
  const sockets = new Set<TLSSocket>();
  let server: Server | undefined;
  let port = opts.port ?? 0;
  const listen = async (): Promise<void> => {
    const s = createServer(
      tlsOptions,
      (socket) => {
        sockets.add(socket);
        socket.setNoDelay(true);
        socket.on('close', () => sockets.delete(socket));
        aedes.handle(socket);
      },
    );
    s.on('tlsClientError', () => { stats.refusedHandshakes++; });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as AddressInfo).port;
    server = s;
  };
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    get url() { return `mqtts://127.0.0.1:${port}`; },
    get port() { return port; },
    backendUrl: `mqtts://127.0.0.1:${backendPort}`,
    stats,
    pause: stop,
    resume: listen,
    async close() {
      await stop();
      for (const sock of backendSockets) sock.destroy();
      await new Promise<void>((resolve) => backend.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}
