// The benchmark's Node.js comparison: the Standard Webhooks reference library (npm's
// standardwebhooks) verifying each delivery on node:http, the fastest Node.js receiver the
// performance issue names. One process, one thread, as Node runs. It speaks the benchmark's
// server protocol (bench/served.hpp) on stdin and stdout:
//   (started)        -> "ready port=P idle_rss_kb=R"
//   "report SENT [INDEX...]" (the indices not answered 2xx)
//                    -> "report calls=.. once=.. missing=.. repeated=.. unexpected=.. rss_kb=R hwm_kb=H"
//   end of input     -> stop and exit
// Usage: node node_receiver.mjs --events N --secret whsec_... --path /webhooks/allthings
import http from 'node:http';
import { readFileSync } from 'node:fs';
import readline from 'node:readline';
import { Webhook } from 'standardwebhooks';

function flag(name) {
  const at = process.argv.indexOf(name);
  if (at < 0 || at + 1 >= process.argv.length) throw new Error(`${name} is required`);
  return process.argv[at + 1];
}

const events = Number(flag('--events'));
const webhook = new Webhook(flag('--secret'));
const path = flag('--path');

// As bench/deliveries.hpp makes them: 24 hex digits, the pool index in the last 12.
const idPrefix = '65a1f0c2e4b0';
function indexOf(id) {
  if (typeof id !== 'string' || id.length !== 24 || !id.startsWith(idPrefix)) return -1;
  const index = parseInt(id.slice(12), 16);
  return Number.isInteger(index) ? index : -1;
}

// Handler calls per pool index, the last slot for events of no pool index.
const counts = new Uint32Array(events + 1);
let calls = 0;

// With a Content-Length, as a framework's res.json() sends it (the load client reads no
// chunked answers).
function answer(res, status, body) {
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
const accepted = '{"status":"accepted"}';
const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== path) {
    answer(res, 404, '{"error":"not found"}');
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let payload;
    try {
      // Verifies webhook-id, webhook-timestamp (5 minutes) and webhook-signature over the
      // exact bytes, then parses the JSON.
      payload = webhook.verify(Buffer.concat(chunks).toString('utf8'), req.headers);
    } catch {
      answer(res, 401, '{"error":"invalid signature"}');
      return;
    }
    const index = indexOf(payload?.event?.id);
    counts[index >= 0 && index < events ? index : events] += 1;
    calls += 1;
    answer(res, 200, accepted);
  });
});
// As WebhookEndpoint's defaults: keep-alive for 5 s of silence.
server.keepAliveTimeout = 5000;

function statusKb(field) {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return line ? parseInt(line.slice(field.length + 1), 10) : 0;
}

// The same rule as DispatchTally::check in bench/served.hpp.
function check(sent, not2xx) {
  let once = 0, missing = 0, repeated = 0, unexpected = counts[events];
  for (let i = 0; i < events; ++i) {
    const n = counts[i];
    if (i >= sent || not2xx.has(i)) unexpected += n;
    else if (n === 1) ++once;
    else if (n === 0) ++missing;
    else ++repeated;
  }
  return `calls=${calls} once=${once} missing=${missing} repeated=${repeated} unexpected=${unexpected}`;
}

server.listen(0, '127.0.0.1', () => {
  // Idle, as the C++ servers report it: after a moment with nothing to do.
  setTimeout(() => {
    process.stdout.write(`ready port=${server.address().port} idle_rss_kb=${statusKb('VmRSS')}\n`);
  }, 200);
});

const commands = readline.createInterface({ input: process.stdin });
commands.on('line', (line) => {
  const words = line.trim().split(/\s+/);
  if (words[0] !== 'report') return;
  const sent = Number(words[1]);
  const not2xx = new Set(words.slice(2).map(Number));
  // Handlers run before the 200, so every acknowledged event has run: report at once.
  process.stdout.write(
    `report ${check(sent, not2xx)} rss_kb=${statusKb('VmRSS')} hwm_kb=${statusKb('VmHWM')}\n`);
});
commands.on('close', () => {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
});
