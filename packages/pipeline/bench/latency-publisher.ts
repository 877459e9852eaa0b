// Child process of bench/latency.ts: DEVICES device connections (each with its own certificate)
// publishing QoS 1 telemetry at RATE messages/s in total for SECONDS, alternating 90 °C and 70 °C
// so that every message opens or closes an overheat episode (one alert event per message).
// Each payload carries its send time (performance.timeOrigin + performance.now(), ms with µs
// resolution) so the parent can take publish → alert latency on one clock.
import mqtt from 'mqtt';
import { monitorEventLoopDelay } from 'node:perf_hooks';

interface Start {
  url: string;
  ca: string;
  devices: { id: string; cert: string; key: string }[];
  rate: number;
  seconds: number;
  /** Seconds of the same traffic on `devices/<id>/bench-warmup` first (the consumer does not subscribe to it): warms this process and the broker only. */
  warmupSeconds: number;
  /** STAGES=1 in the parent: also time how long each message waits in this process before its bytes can leave. */
  stages: boolean;
  /** Milliseconds between ticks (default 10): each tick sends rate × tickMs / 1000 messages at once. */
  tickMs: number;
}

const now = (): number => performance.timeOrigin + performance.now();

process.once('message', (msg: Start) => {
  void (async () => {
    const clients = await Promise.all(
      msg.devices.map((d) => mqtt.connectAsync(msg.url, { ca: msg.ca, cert: d.cert, key: d.key, clientId: d.id, protocolVersion: 5, reconnectPeriod: 0 })),
    );
    process.send?.({ ready: true });
    const tickMs = msg.tickMs;
    const perTick = (msg.rate * tickMs) / 1000; // a tick every tickMs (default 10 ms: 50 messages at once at 5,000/s)
    const t0 = Date.now() - 3_600_000; // event times: an hour ago, 1 ms apart per device
    let sent = 0;
    let acked = 0;
    const loop = monitorEventLoopDelay({ resolution: 1 });
    const held: number[] = []; // STAGES=1: ms each message waited inside this process's tick loop
    if (msg.warmupSeconds > 0) {
      await run((msg.warmupSeconds * 1000) / tickMs, 'bench-warmup');
      while (acked < sent) await new Promise((r) => setTimeout(r, 10));
      sent = 0;
      acked = 0;
    }
    loop.enable();
    const start = now();
    await run((msg.seconds * 1000) / tickMs, 'telemetry');
    const elapsed = (now() - start) / 1000;
    loop.disable();
    const ms = (ns: number): string => (ns / 1e6).toFixed(1);
    while (acked < sent) await new Promise((r) => setTimeout(r, 10));
    await Promise.all(clients.map((c) => c.endAsync()));
    held.sort((a, b) => a - b);
    const q = (p: number): string => (held[Math.min(held.length - 1, Math.floor(p * held.length))] ?? Number.NaN).toFixed(2);
    process.send?.({ done: true, sent, seconds: elapsed, loop: `p50 ${ms(loop.percentile(50))}  p99 ${ms(loop.percentile(99))}  max ${ms(loop.max)}`, ...(msg.stages ? { held: `median ${q(0.5)}  p90 ${q(0.9)}  p99 ${q(0.99)}` } : {}) });

    async function run(ticks: number, leaf: string): Promise<void> {
      const begin = now();
      const stamps: number[] = [];
      for (let k = 0; k < ticks; k++) {
        stamps.length = 0;
        for (let j = 0; j < perTick; j++) {
          const n = k * perTick + j;
          const c = clients[n % clients.length] as mqtt.MqttClient;
          const seq = Math.floor(n / clients.length);
          const id = msg.devices[n % clients.length]?.id ?? '';
          const stamp = now();
          if (msg.stages) stamps.push(stamp);
          const payload = `{"ts":${t0 + seq},"temperature":${seq % 2 === 0 ? 90 : 70},"sent":"${stamp}"}`;
          c.publish(`devices/${id}/${leaf}`, payload, { qos: 1 }, () => { acked++; });
          sent++;
        }
        if (msg.stages && leaf === 'telemetry') {
          // mqtt-packet corks each socket per packet and uncorks on process.nextTick: no byte of
          // this tick's messages leaves before the loop above has ended.
          const end = now();
          for (const t of stamps) held.push(end - t);
        }
        const next = begin + (k + 1) * tickMs;
        const wait = next - now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
  })();
});
