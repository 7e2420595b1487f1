/**
 * Fault: a client on a link that stalls. It opens a stream through NGINX on a raw TLS socket,
 * reads the response head and part of the first event, and then stops reading (mid-event) while
 * records keep coming, among them large ones on a `bulk` stream (~1.3 MB/s). Back-pressure fills
 * the socket buffers of NGINX and then the gateway's; past CLIENT_BUFFER_BYTES the gateway's
 * slow-client policy drops that one stream (`switchyard_sse_slow_disconnects_total` + 1) and
 * frees its slot, while every other client (some of them on the very same streams as the
 * stalled one) keeps its stream and receives every numbered update, in order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { closeKafkaHelpers, produce } from '../helpers/kafka.ts';
import { COUNTERS, FEED, waitFor } from './fleet.ts';
import { BULK, Scenario } from './scenario.ts';

const CLIENT_BUFFER_BYTES = 256 * 1024;
const BULK_RECORD = JSON.stringify({ pad: 'x'.repeat(128 * 1024) });

describe('fault: a client that stops reading mid-event', { timeout: 240_000 }, () => {
  let s: Scenario;
  let stalled: TLSSocket | null = null;
  let bulkWriter: Promise<void> | null = null;
  let writing = false;
  before(async () => {
    s = await Scenario.start({ bulk: true, env: { CLIENT_BUFFER_BYTES: String(CLIENT_BUFFER_BYTES) } });
  });
  after(async () => {
    writing = false;
    await bulkWriter?.catch(() => {});
    stalled?.destroy();
    await s?.close();
    await closeKafkaHelpers();
  });

  test('is dropped by the slow-client policy without harming the others', async () => {
    const streams = `${BULK},${COUNTERS},${FEED}`;
    const fleet = await s.fleet(36);
    const sameStreams = await s.fleet(4, streams);
    const everyone = [...fleet.clients, ...sameStreams.clients];
    const before = await s.metricSum('switchyard_sse_slow_disconnects_total');

    const sock = connect({
      host: '127.0.0.1',
      port: s.nginx.tlsPort,
      servername: 'localhost',
      ca: s.nginx.cert.pem,
      ALPNProtocols: ['http/1.1'],
    });
    stalled = sock;
    let received = '';
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.once('secureConnect', () => {
        sock.write(
          `GET /v1/stream?streams=${streams} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n`,
        );
      });
      sock.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
        // Stop reading inside the first event, as a link that stalls mid-event.
        const body = received.indexOf('\r\n\r\n');
        if (body >= 0 && received.length > body + 64) {
          sock.pause();
          resolve();
        }
      });
    });
    assert.match(received, /^HTTP\/1\.1 200/, 'the stalled client had a stream');
    assert.ok(!received.endsWith('\n\n'), 'it stalled inside an event');

    s.producer.start();
    writing = true;
    bulkWriter = (async () => {
      while (writing) {
        await produce(s.bulkTopic!, [{ value: BULK_RECORD }]);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const deadline = Date.now() + 60_000;
    while ((await s.metricSum('switchyard_sse_slow_disconnects_total')) < before + 1) {
      if (Date.now() > deadline)
        throw new Error(`the stalled client was never dropped\n${await s.diagnostics()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    writing = false;
    await bulkWriter;
    // The others go on receiving after the drop; then everyone must hold the ground truth.
    const seqAtDrop = s.producer.truth().lastSeq;
    await waitFor(
      () => s.producer.truth().lastSeq >= seqAtDrop + 20,
      30_000,
      () => `producer stuck at ${s.producer.truth().lastSeq}`,
    );
    await s.producer.stop();
    await fleet.waitForTruth(() => s.producer.truth(), 30_000);
    await sameStreams.waitForTruth(() => s.producer.truth(), 30_000);

    const anomalies = everyone.flatMap((c) => c.anomalies.map((x) => `client ${c.id}: ${x}`));
    assert.deepEqual(anomalies.slice(0, 10), [], `${anomalies.length} delivery anomalies`);
    const lost = everyone.filter((c) => c.drops.length > 0 || c.connects !== 1);
    assert.deepEqual(
      lost.map((c) => `client ${c.id} (${c.connects} connects): ${c.errors.join(' ')}`),
      [],
      'no other client lost its stream',
    );
    assert.equal(
      await s.metricSum('switchyard_sse_slow_disconnects_total'),
      before + 1,
      'only the stalled one',
    );
    assert.equal(await s.metricSum('switchyard_sse_connections'), everyone.length, 'its slot was freed');
  });
});
