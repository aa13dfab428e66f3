// Round trips between the senders' own signing libraries and the C++ presets, both ways:
// the library signs and a C++ Receiver verifies (scheme_tool "receive"), and the C++ preset
// signs and the library verifies (scheme_tool "sign").
//
//   node interop.mjs <path to scheme_tool> standard-webhooks|github|stripe|shopify-slack
//
// CMake copies this file next to the node_modules that the test setup installs
// (npm install --prefix <build>/tests/node/node ...), so the packages resolve by name.
// Shopify and Slack publish no Node library of their own for this: their checks use Node's
// crypto exactly as the senders' documentation verifies a request.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';

const [tool, group] = process.argv.slice(2);
if (!tool || !group) {
  console.error('usage: node interop.mjs <scheme_tool> <group>');
  process.exit(2);
}

function cxx(request) {
  const run = spawnSync(tool, [], { input: JSON.stringify(request), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`scheme_tool failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout);
}

// What the C++ Receiver made of a delivery.
function receive(scheme, secrets, headers, body) {
  return cxx({ action: 'receive', scheme, secrets, headers, body });
}

// The headers the C++ preset signs `body` with.
function cxxSign(scheme, secret, body, at, id) {
  const request = { action: 'sign', scheme, secrets: ['unused-but-valid'], secret, body, at };
  if (scheme === 'standard-webhooks') request.secrets = ['whsec_dW51c2Vk'];
  if (id !== undefined) request.id = id;
  return cxx(request).headers;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const random = (bytes) => crypto.randomBytes(bytes).toString('hex');

let passed = 0;
async function check(what, run) {
  try {
    await run();
    passed += 1;
    console.log(`ok - ${what}`);
  } catch (error) {
    console.log(`FAILED - ${what}`);
    console.log(error);
    process.exitCode = 1;
  }
}

// Escapes and non-ASCII stay exactly as sent: the signatures cover these bytes.
const note = String.raw`caf\u00e9 ✓ \/ \"quoted\"`;

const groups = {
  async 'standard-webhooks'() {
    const { Webhook } = await import('standardwebhooks');
    const secret = `whsec_${crypto.randomBytes(24).toString('base64')}`;
    const other = `whsec_${crypto.randomBytes(24).toString('base64')}`;
    const wh = new Webhook(secret);
    const body = `{"type":"invoice.paid","timestamp":"2024-05-14T08:00:00Z","data":{"note":"${note}"}}`;

    const sent = new Date();
    const id = `msg_${random(12)}`;
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(sent.getTime() / 1000)),
      'webhook-signature': wh.sign(id, sent, body),
      'content-type': 'application/json',
    };
    await check('standardwebhooks signs, the C++ receiver verifies and names the event', () => {
      const r = receive('standard-webhooks', [other, secret], headers, body);
      assert.equal(r.status, 200, r.reply);
      assert.deepEqual(r.event, { id, name: 'invoice.paid', raw_body: body });
    });
    await check('a standardwebhooks signature among a decoy verifies, a changed body does not', () => {
      const decoy = new Webhook(other).sign(id, sent, `${body} `);
      const both = { ...headers, 'webhook-signature': `${decoy} ${headers['webhook-signature']}` };
      assert.equal(receive('standard-webhooks', [secret, other], both, body).status, 200);
      const changed = body.replace('✓', 'x');
      assert.equal(receive('standard-webhooks', [secret], headers, changed).status, 401);
    });
    await check('the C++ preset signs, standardwebhooks verifies', () => {
      const signed = cxxSign('standard-webhooks', secret, body, nowSeconds(), `msg_${random(12)}`);
      assert.deepEqual(wh.verify(body, signed), JSON.parse(body));
      assert.throws(() => wh.verify(`${body} `, signed), /No matching signature/);
      assert.throws(() => new Webhook(other).verify(body, signed), /No matching signature/);
    });

    // v1a: the reference libraries sign only v1, so Node's own Ed25519 plays the sender.
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    const jwk = privateKey.export({ format: 'jwk' });
    const seed = Buffer.from(jwk.d, 'base64url');
    const pub = Buffer.from(jwk.x, 'base64url');
    const whsk = `whsk_${Buffer.concat([seed, pub]).toString('base64')}`;
    const whpk = `whpk_${pub.toString('base64')}`;
    const ts = String(nowSeconds());
    const v1aId = `msg_${random(12)}`;
    const content = Buffer.from(`${v1aId}.${ts}.${body}`);
    await check('Node signs Ed25519 (v1a), the C++ receiver verifies with the whpk_ key', () => {
      const signature = crypto.sign(null, content, privateKey).toString('base64');
      const v1aHeaders = {
        'webhook-id': v1aId,
        'webhook-timestamp': ts,
        'webhook-signature': `v1a,${signature}`,
      };
      const r = receive('standard-webhooks', [secret, whpk], v1aHeaders, body);
      assert.equal(r.status, 200, r.reply);
      assert.equal(r.event.id, v1aId);
      assert.equal(receive('standard-webhooks', [secret], v1aHeaders, body).status, 401);
    });
    await check('the C++ preset signs v1a with the whsk_ key, Node verifies', () => {
      const signed = cxxSign('standard-webhooks', whsk, body, Number(ts), v1aId);
      const [version, signature] = signed['webhook-signature'].split(',');
      assert.equal(version, 'v1a');
      assert.ok(crypto.verify(null, content, publicKey, Buffer.from(signature, 'base64')));
      assert.ok(!crypto.verify(null, Buffer.from(`${content} `), publicKey,
                               Buffer.from(signature, 'base64')));
    });
  },

  async github() {
    const { sign, verify } = await import('@octokit/webhooks-methods');
    const secret = `gh-${random(16)}`;
    const body = `{"action":"opened","issue":{"number":7,"title":"${note}"}}`;
    const delivery = crypto.randomUUID();
    const headers = {
      'X-Hub-Signature-256': await sign(secret, body),
      'X-GitHub-Event': 'issues',
      'X-GitHub-Delivery': delivery,
      'Content-Type': 'application/json',
    };
    await check('@octokit/webhooks-methods signs, the C++ receiver verifies and names the event',
                () => {
                  const r = receive('github', ['old-secret', secret], headers, body);
                  assert.equal(r.status, 200, r.reply);
                  assert.deepEqual(r.event, { id: delivery, name: 'issues.opened', raw_body: body });
                  assert.equal(receive('github', ['old-secret'], headers, body).status, 401);
                });
    await check('the C++ preset signs, @octokit/webhooks-methods verifies', async () => {
      const signed = cxxSign('github', secret, body, nowSeconds());
      assert.equal(await verify(secret, body, signed['X-Hub-Signature-256']), true);
      assert.equal(await verify(secret, `${body}\n`, signed['X-Hub-Signature-256']), false);
      assert.equal(await verify('other', body, signed['X-Hub-Signature-256']), false);
    });
  },

  async stripe() {
    const { default: Stripe } = await import('stripe');
    const stripe = new Stripe('sk_test_interop_never_used');  // no request is ever made
    const secret = `whsec_${random(16)}`;
    const id = `evt_${random(12)}`;
    const body = `{"id":"${id}","object":"event","type":"invoice.paid","data":{"object":{"note":"${note}"}}}`;
    await check('stripe signs (generateTestHeaderString), the C++ receiver verifies', () => {
      const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret });
      const headers = { 'Stripe-Signature': header, 'Content-Type': 'application/json' };
      const r = receive('stripe', [secret], headers, body);
      assert.equal(r.status, 200, r.reply);
      assert.deepEqual(r.event, { id, name: 'invoice.paid', raw_body: body });
      assert.equal(receive('stripe', [`${secret}x`], headers, body).status, 401);
    });
    await check('the C++ preset signs, stripe verifies (constructEvent)', () => {
      const signed = cxxSign('stripe', secret, body, nowSeconds());
      const event = stripe.webhooks.constructEvent(body, signed['Stripe-Signature'], secret);
      assert.equal(event.id, id);
      // Stripe's libraries do not limit the future, so check that t is in seconds, and now.
      const t = Number(/^t=(\d+),/.exec(signed['Stripe-Signature'])[1]);
      assert.ok(Math.abs(t - nowSeconds()) < 60, `t=${t}`);
      assert.throws(() => stripe.webhooks.constructEvent(`${body} `, signed['Stripe-Signature'],
                                                         secret));
    });
    await check('a ten-minute-old signature is refused by both sides', () => {
      const old = nowSeconds() - 600;
      const signed = cxxSign('stripe', secret, body, old);
      assert.throws(() => stripe.webhooks.constructEvent(body, signed['Stripe-Signature'], secret),
                    /tolerance/);
      const r = receive('stripe', [secret], signed, body);
      assert.equal(r.status, 401);
      assert.equal(r.reply, '{"error":"invalid_timestamp"}');
    });
  },

  async 'shopify-slack'() {
    const hmac = (key, text, encoding) =>
      crypto.createHmac('sha256', key).update(text, 'utf8').digest(encoding);

    const shopifySecret = `shpss_${random(16)}`;
    const order = `{"id":820982911946154508,"note":"${note}"}`;
    await check('Shopify as its docs sign, the C++ receiver verifies (both header spellings)', () => {
      const eventId = crypto.randomUUID();
      const r = receive('shopify', [shopifySecret], {
        'X-Shopify-Hmac-Sha256': hmac(shopifySecret, order, 'base64'),
        'X-Shopify-Topic': 'orders/create',
        'X-Shopify-Event-Id': eventId,
        'Content-Type': 'application/json',
      }, order);
      assert.equal(r.status, 200, r.reply);
      assert.deepEqual(r.event, { id: eventId, name: 'orders/create', raw_body: order });
      const unprefixed = receive('shopify', [shopifySecret], {
        'Shopify-Hmac-Sha256': hmac(shopifySecret, order, 'base64'),
        'Shopify-Topic': 'orders/create',
      }, order);
      assert.equal(unprefixed.status, 200, unprefixed.reply);
    });
    await check('the C++ Shopify preset signs what Shopify\'s docs compute', () => {
      const signed = cxxSign('shopify', shopifySecret, order, nowSeconds());
      const expected = Buffer.from(hmac(shopifySecret, order, 'base64'));
      const got = Buffer.from(signed['X-Shopify-Hmac-Sha256']);
      assert.ok(got.length === expected.length && crypto.timingSafeEqual(got, expected));
    });

    const slackSecret = random(16);
    const command = 'token=x&command=%2Fdeploy&text=caf%C3%A9+%E2%9C%93&trigger_id=13.45.ab';
    await check('Slack as its docs sign, the C++ receiver verifies a form-encoded command', () => {
      const ts = String(nowSeconds());
      const r = receive('slack', [slackSecret], {
        'X-Slack-Signature': `v0=${hmac(slackSecret, `v0:${ts}:${command}`, 'hex')}`,
        'X-Slack-Request-Timestamp': ts,
        'Content-Type': 'application/x-www-form-urlencoded',
      }, command);
      assert.equal(r.status, 200, r.reply);
      assert.deepEqual(r.event, { id: '13.45.ab', name: '/deploy', raw_body: command });
    });
    await check('the C++ Slack preset signs what Slack\'s docs compute', () => {
      const ts = nowSeconds();
      const signed = cxxSign('slack', slackSecret, command, ts);
      assert.equal(signed['X-Slack-Request-Timestamp'], String(ts));
      assert.equal(signed['X-Slack-Signature'], `v0=${hmac(slackSecret, `v0:${ts}:${command}`, 'hex')}`);
    });
  },
};

if (!groups[group]) {
  console.error(`unknown group ${group}; one of ${Object.keys(groups).join(', ')}`);
  process.exit(2);
}
await groups[group]();
console.log(`${group}: ${passed} checks passed${process.exitCode ? ', some FAILED' : ''}`);
