// The same page on the client kit: the gateway's rollout picks SSE or polling, live.

import { connect } from '/v1/client.js';
import { render, showStatus } from './view.js';

const clientId = new URLSearchParams(location.search).get('clientId') ?? undefined;
window.demo = connect({
  clientId,
  streams: ['orders', 'totals'],
  onState: render,
  onStatus: (s) => showStatus(`${s.transport} (${s.reason}, ${s.phase}${s.leader ? '' : ', shared'})`),
});
