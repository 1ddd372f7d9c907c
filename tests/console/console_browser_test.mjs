// The web console in a real browser over real processes (docs/console.md): redis-server, the
// registry, finance and engagement services, and dorset-console, started here; Debian's headless
// Chromium driven by playwright-core; axe-core (WCAG 2.0/2.1/2.2 A and AA rules) on every page.
//   node console_browser_test.mjs <build dir> <source dir>
// Each page: renders, a screenshot is saved (DORSET_CONSOLE_SCREENSHOTS, default
// <build>/console-screenshots; the committed ones are in docs/console/), axe reports no
// violation, and the figures it shows equal the API's (dorsetctl's JSON) for the same query.
// Flows: the response form completed with the keyboard alone, then the confirmation; the
// outcome published afterwards shows the new counts and the decision; a post without the CSRF
// token (or with another's) refused; a script in a response's text shown as text; the rate
// limit per client. Exits 77 (skipped) when Chromium or the npm packages are missing, except
// under CI=true, where that is a failure.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';

const [build, src] = process.argv.slice(2).map((p) => path.resolve(p));
const ci = process.env.CI === 'true';
const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
const require = createRequire(path.join(src, 'package.json'));
let playwright;
let axeSource;
try {
  playwright = require('playwright-core');
  axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
} catch (e) {
  playwright = null;
}
if (!chromiumPath || !playwright) {
  const why = !chromiumPath ? 'Debian chromium is not installed' : 'npm packages missing (npm ci)';
  console.error(`${ci ? 'FAIL' : 'SKIP'}: ${why} (scripts/lib/install-deps.sh installs both)`);
  process.exit(ci ? 1 : 77);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'console-test-'));
const shots = process.env.DORSET_CONSOLE_SCREENSHOTS || path.join(build, 'console-screenshots');
fs.mkdirSync(shots, { recursive: true });
const children = [];
let browser = null;

function cleanup() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* gone */ }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}
async function fail(message) {
  console.error(`FAIL: ${message}`);
  for (const f of fs.readdirSync(tmp).filter((f) => f.endsWith('.log'))) {
    const text = fs.readFileSync(path.join(tmp, f), 'utf8').split('\n').slice(-15).join('\n');
    console.error(`--- ${f}\n${text}`);
  }
  if (browser) await browser.close().catch(() => {});
  cleanup();
  process.exit(1);
}
function check(condition, message) {
  if (!condition) throw new Error(message);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// One free port for each name, all different: every listener is held until the last port is
// picked. Picked one at a time and each released at once, the kernel may hand out a port twice
// (it did: engagement's gRPC port was finance's ops port, and finance could not start).
async function freePorts(names) {
  const listeners = [];
  const picked = {};
  for (const name of names) {
    const s = net.createServer();
    await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
    listeners.push(s);
    picked[name] = s.address().port;
  }
  await Promise.all(listeners.map((s) => new Promise((resolve) => s.close(resolve))));
  return picked;
}
function start(name, binary, args) {
  const log = fs.openSync(path.join(tmp, `${name}.log`), 'w');
  const child = spawn(binary, args, { stdio: ['ignore', log, log] });
  children.push(child);
  return child;
}

// --- the processes -------------------------------------------------------------------------
const token = () => crypto.randomBytes(16).toString('hex');
const sha = (t) => crypto.createHash('sha256').update(t).digest('hex');
const admin = token();
const serviceToken = token();
const consoleToken = token();
const financeReader = token();
const readerToken = token();
const financeEditor = token();
fs.writeFileSync(path.join(tmp, 'service.token'), serviceToken);
fs.writeFileSync(path.join(tmp, 'console.token'), consoleToken);
fs.writeFileSync(path.join(tmp, 'tokens'), [
  `${sha(admin)} test-admin admin`,
  `${sha(serviceToken)} test-service registry-reader`,
  // The console's own principal for the public pages: reads with personal data redacted, and
  // CreateResponse (docs/console.md).
  `${sha(consoleToken)} console-public engagement-respondent`,
  `${sha(financeReader)} test-finance-reader finance-reader`,
  `${sha(readerToken)} test-reader reader`,
  `${sha(financeEditor)} test-finance-editor finance-editor`,
].join('\n') + '\n');

const ports = await freePorts(['redis', 'registry', 'finance', 'engagement', 'registryOps',
  'financeOps', 'engagementOps', 'console']);
start('redis', 'redis-server', ['--port', String(ports.redis), '--bind', '127.0.0.1', '--dir', tmp,
  '--save', '', '--appendonly', 'no']);
const service = (name, extra) => start(name, path.join(build, 'services', name, `dorset-${name}`), [
  `--grpc_listen=127.0.0.1:${ports[name]}`, `--ops_listen=127.0.0.1:${ports[`${name}Ops`]}`,
  `--data_dir=${path.join(tmp, name)}`, `--redis=127.0.0.1:${ports.redis}`,
  `--tokens_file=${path.join(tmp, 'tokens')}`, '--plaintext=true', '--drain_seconds=0', ...extra]);
service('registry', []);
const registryTarget = [`--registry_target=127.0.0.1:${ports.registry}`,
  `--service_token_file=${path.join(tmp, 'service.token')}`];
service('finance', registryTarget);
service('engagement', registryTarget);

const ctlEnv = {
  ...process.env,
  DORSETCTL_REGISTRY: `127.0.0.1:${ports.registry}`,
  DORSETCTL_FINANCE: `127.0.0.1:${ports.finance}`,
  DORSETCTL_ENGAGEMENT: `127.0.0.1:${ports.engagement}`,
  DORSETCTL_REGISTRY_OPS: `127.0.0.1:${ports.registryOps}`,
  DORSETCTL_FINANCE_OPS: `127.0.0.1:${ports.financeOps}`,
  DORSETCTL_ENGAGEMENT_OPS: `127.0.0.1:${ports.engagementOps}`,
  DORSETCTL_TOKEN: admin,
  XDG_CONFIG_HOME: tmp,
};
function ctl(...args) {
  return execFileSync(path.join(build, 'cli', 'dorsetctl'), args, { env: ctlEnv, encoding: 'utf8' });
}
const json = (text) => JSON.parse(text.trim().split('\n')[0]);
const jsonLines = (text) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

try {
  let ready = false;
  for (let i = 0; i < 300 && !ready; ++i) {
    try { ctl('health'); ready = true; } catch { await sleep(200); }
  }
  check(ready, 'services did not become ready');
  ctl('registry', 'import-localities', `${src}/data/dorset/localities.csv`,
    `${src}/data/dorset/practice-localities.csv`);
  ctl('registry', 'import-epraccur', `${src}/data/ods/epraccur-2025-05.csv`, '--commissioner=11J');
  // As scripts/run does: the list sizes are the populations the area tree and the per-head
  // figures show (without them every figure per patient is zero).
  ctl('registry', 'import-list-sizes', `${src}/data/ods/gp-reg-pat-prac-all-2021-01.csv`,
    '--commissioner=11J');
  console.log('ok: services ready, registry loaded');

  // --- the consultations, through the API as staff would make them --------------------------
  const e = (...args) => ctl('engagement', ...args);
  e('create-activity', '--id=urgent-care-poole', '--kind=CONSULTATION',
    '--title=Urgent care in Poole', '--purpose=We propose to bring urgent treatment in Poole together in one centre, open 8am to 10pm.',
    '--localities=localities/poole-central,localities/poole-bay,localities/poole-north');
  e('create-theme', 'urgent-care-poole', '--id=travel', '--display_name=Travel and parking');
  e('open', 'urgent-care-poole');
  e('create-activity', '--id=rate-check', '--kind=SURVEY', '--title=Rate limit check',
    '--purpose=A second open consultation the rate limit is checked on.');
  e('open', 'rate-check');
  e('create-activity', '--id=weymouth-hours', '--kind=CONSULTATION',
    '--title=GP opening hours in Weymouth', '--purpose=Should practices open on Saturday mornings?',
    '--localities=localities/weymouth-portland');
  e('open', 'weymouth-hours');
  e('close', 'weymouth-hours');
  e('create-activity', '--id=draft-secret', '--kind=CONSULTATION', '--title=Draft not for the public');
  e('create-activity', '--id=maternity', '--kind=CONSULTATION',
    '--title=Maternity services in Dorset', '--purpose=How should maternity care be organised across the county?');
  e('create-theme', 'maternity', '--id=continuity', '--display_name=Continuity of carer',
    '--description=Seeing the same midwife');
  e('create-theme', 'maternity', '--id=travel', '--display_name=Travel to appointments');
  e('open', 'maternity');
  const respond = (id, ...args) => e('respond', 'maternity', '--channel=ONLINE', `--request_id=${id}`, ...args);
  respond('m1', '--text=I saw five different midwives.', '--themes=continuity', '--sentiment=OPPOSED', '--publish_consent');
  respond('m2', '--text=Private words: my name is Jane Doe.', '--themes=continuity', '--sentiment=MIXED');
  respond('m3', '--text=<script>window.__injected = 1</script><b>bold?</b>', '--themes=travel', '--publish_consent');
  respond('m4', '--text=The bus takes two hours.', '--themes=travel,continuity', '--sentiment=SUPPORTIVE', '--publish_consent');
  e('close', 'maternity');
  e('create-decision', 'maternity', '--id=teams', '--summary=Small teams of midwives for each family',
    '--rationale=Most people asked to see the same midwife', '--themes=continuity', '--published');
  e('publish', 'maternity', '--summary=We are moving to small midwife teams from April.');
  console.log('ok: consultations made through the API');

  // --- the console ------------------------------------------------------------------------
  start('console', path.join(build, 'console', 'dorset-console'), [
    `--http_listen=127.0.0.1:${ports.console}`, '--plaintext=true',
    `--registry_target=127.0.0.1:${ports.registry}`, `--finance_target=127.0.0.1:${ports.finance}`,
    `--engagement_target=127.0.0.1:${ports.engagement}`,
    `--registry_ops=127.0.0.1:${ports.registryOps}`, `--finance_ops=127.0.0.1:${ports.financeOps}`,
    `--engagement_ops=127.0.0.1:${ports.engagementOps}`,
    `--service_token_file=${path.join(tmp, 'console.token')}`,
    `--assets_dir=${src}/node_modules/nhsuk-frontend/dist/nhsuk`,
    '--respond_burst=3', '--respond_per_minute=1']);
  const base = `http://127.0.0.1:${ports.console}`;
  let up = false;
  for (let i = 0; i < 150 && !up; ++i) {
    try { up = (await fetch(`${base}/readyz`)).ok; } catch { await sleep(200); }
  }
  check(up, 'dorset-console did not start');

  browser = await playwright.chromium.launch({ executablePath: chromiumPath,
    args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [] });
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    // nhsuk-frontend's CSS names its fonts on assets.nhs.uk, which the CSP (font-src 'self')
    // does not fetch: the design system's own fallback (Arial) is used. Anything else is a fault.
    if (m.type() === 'error' && !/font-src|assets\.nhs\.uk|Failed to load resource/.test(m.text())) {
      problems.push(m.text());
    }
  });
  page.on('pageerror', (err) => problems.push(String(err)));
  // Every sub-resource (CSS, scripts, images) must load: a page is only ever navigated to.
  page.on('response', (r) => {
    if (r.status() >= 400 && r.request().resourceType() !== 'document') problems.push(`${r.status()} ${r.url()}`);
  });

  const axeTags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
  async function visit(urlPath, shot) {
    const response = await page.goto(base + urlPath);
    check(response.status() === 200, `${urlPath}: HTTP ${response.status()}`);
    return audit(urlPath, shot, response);
  }
  async function audit(label, shot, response) {
    if (response) {
      const h = response.headers();
      const csp = h['content-security-policy'] || '';
      check(csp.includes("frame-ancestors 'none'") && !csp.includes('unsafe-inline') &&
        csp.includes("script-src 'self'"), `${label}: CSP is ${csp}`);
      check(h['x-content-type-options'] === 'nosniff', `${label}: no nosniff`);
      check(h['referrer-policy'] === 'no-referrer', `${label}: Referrer-Policy ${h['referrer-policy']}`);
    }
    await page.screenshot({ path: path.join(shots, `${shot}.png`), fullPage: true });
    await page.evaluate(axeSource);
    const result = await page.evaluate(
      (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }), axeTags);
    const violations = result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
    check(violations.length === 0, `${label}: axe violations:\n  ${violations.join('\n  ')}`);
    check(problems.length === 0, `${label}: browser errors: ${problems.join('; ')}`);
    console.log(`ok: ${label} renders, screenshot ${shot}.png, axe: no violation`);
  }
  const text = async (selector) => (await page.locator(selector).first().textContent()).trim();

  // 1. The list: each section's count equals the API's, drafts never shown.
  await visit('/consultations', 'consultations');
  const activities = jsonLines(e('list-activities'));
  const byState = (s) => activities.filter((a) => a.state === `ACTIVITY_STATE_${s}`).length;
  check(await text('[data-count="open"]') === `(${byState('OPEN')})`, 'open count differs from the API');
  check(await text('[data-count="published"]') === `(${byState('OUTCOME_PUBLISHED')})`, 'published count differs');
  check(await text('[data-count="closed"]') === `(${byState('CLOSED')})`, 'closed count differs');
  check(!(await page.content()).includes('Draft not for the public'), 'a draft is listed');
  check((await fetch(`${base}/consultations/draft-secret`)).status === 404, 'a draft has a page');
  console.log(`ok: list counts equal the API's (open ${byState('OPEN')}, published ${byState('OUTCOME_PUBLISHED')}, closed ${byState('CLOSED')})`);

  // 2. A consultation's page: purpose and localities by their registry names.
  await visit('/consultations/urgent-care-poole', 'consultation');
  const body = await page.locator('main').textContent();
  check(body.includes('bring urgent treatment in Poole together'), 'purpose missing');
  check(body.includes('Poole Central') && body.includes('Poole Bay'), 'locality names missing');
  await visit('/consultations/weymouth-hours', 'consultation-closed');

  // 3. We asked, you said, we did: totals and per-theme counts equal the API's; only consented
  //    words, the injected script shown as text and never run.
  await visit('/consultations/maternity/you-said-we-did', 'you-said-we-did');
  let ysw = json(e('you-said-we-did', 'maternity'));
  check(await text('[data-total-responses]') === String(ysw.totalResponses), 'total differs from the API');
  for (const t of ysw.themes) {
    check(await text(`[data-theme-responses="${t.theme.name}"]`) === String(t.responses || 0),
      `${t.theme.displayName}: count differs from the API`);
  }
  const main = await page.locator('main').textContent();
  check(main.includes('Small teams of midwives for each family'), 'decision missing');
  check(main.includes('I saw five different midwives.'), 'a consented response is missing');
  check(!main.includes('Jane Doe'), 'a response without consent is published');
  check(main.includes('<script>window.__injected = 1</script><b>bold?</b>'), 'the injected text is not shown as text');
  check(await page.evaluate(() => window.__injected === undefined), 'the injected script ran');
  check(await page.locator('main b').count() === 0, 'injected markup became an element');
  console.log(`ok: you said, we did equals the API (${ysw.totalResponses} responses, ${ysw.themes.length} themes); only consented words; script shown as text`);

  // 4. The response form with the keyboard alone, then the confirmation.
  await visit('/consultations/urgent-care-poole/respond', 'respond');
  const focusedId = () => page.evaluate(() => document.activeElement && document.activeElement.id);
  async function tabTo(id) {
    for (let i = 0; i < 60; ++i) {
      if (await focusedId() === id) return;
      await page.keyboard.press('Tab');
    }
    throw new Error(`Tab never reached #${id}`);
  }
  await tabTo('text');
  await page.keyboard.type('Please keep the minor injuries unit open at weekends.');
  await page.keyboard.press('Tab');
  check(await focusedId() === 'sentiment', `after the text, focus is on ${await focusedId()}`);
  await page.keyboard.press('ArrowDown');  // radios: the arrow moves to and selects "Against"
  check(await page.evaluate(() => document.querySelector('input[name=sentiment]:checked')?.value) === 'OPPOSED',
    'the arrow key did not choose a view');
  await tabTo('locality');
  await page.keyboard.press('ArrowDown');
  const locality = await page.evaluate(() => document.getElementById('locality').value);
  check(locality.startsWith('localities/'), `the arrow key did not choose a locality (${locality})`);
  await tabTo('publish_consent');
  await page.keyboard.press('Space');
  check(await page.evaluate(() => document.getElementById('publish_consent').checked), 'consent not ticked');
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement.type) === 'submit', 'focus is not on the button');
  const [confirmation] = await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  check(confirmation.status() === 200, `the post answered ${confirmation.status()}`);
  check(await text('h1') === 'Response sent', 'no confirmation');
  const reference = await text('[data-reference]');
  await audit('confirmation', 'respond-confirmation', confirmation);
  const responses = json(e('list-responses', 'urgent-care-poole')).responses;
  const mine = responses.find((r) => r.name.endsWith(`/responses/${reference}`));
  check(mine && mine.channel === 'CHANNEL_ONLINE' && mine.locality === locality &&
    mine.publishConsent === true && mine.sentiment === 'SENTIMENT_OPPOSED' &&
    mine.text === 'Please keep the minor injuries unit open at weekends.',
    `the API does not have the response as sent: ${JSON.stringify(mine)}`);
  console.log(`ok: the form completed by keyboard alone; response ${reference} in the API as sent`);

  // 5. An empty response is refused with an error summary (and the page still passes axe).
  await page.goto(`${base}/consultations/urgent-care-poole/respond`);
  const [refused] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  check(refused.status() === 400, `an empty response answered ${refused.status()}`);
  check(await page.locator('.nhsuk-error-summary').count() === 1, 'no error summary');
  await audit('form with an error', 'respond-error', refused);

  // 6. After the outcome is published, the page shows the new counts and the decision.
  e('create-theme', 'urgent-care-poole', '--id=weekends', '--display_name=Weekend opening');
  e('close', 'urgent-care-poole');
  e('create-decision', 'urgent-care-poole', '--id=weekends', '--summary=The unit stays open at weekends',
    '--themes=weekends', '--published');
  e('publish', 'urgent-care-poole', '--summary=We heard you: weekends stay.');
  await visit('/consultations/urgent-care-poole/you-said-we-did', 'you-said-we-did-after-response');
  ysw = json(e('you-said-we-did', 'urgent-care-poole'));
  check(await text('[data-total-responses]') === String(ysw.totalResponses) && ysw.totalResponses >= 1,
    'the new response is not counted');
  check((await page.locator('main').textContent()).includes('The unit stays open at weekends'), 'new decision missing');
  check((await page.locator('main').textContent()).includes('Please keep the minor injuries unit open at weekends.'),
    'the consented browser response is not quoted');
  console.log(`ok: published outcome shows the new count (${ysw.totalResponses}) and the decision`);

  // 7. CSRF: a post without the token, or with a token not bound to this browser, is refused.
  const form = { text: 'csrf probe', submission: '0'.repeat(32) };
  const noToken = await context.request.post(`${base}/consultations/rate-check/respond`, { form });
  check(noToken.status() === 403, `a post without the CSRF token answered ${noToken.status()}`);
  const wrong = await context.request.post(`${base}/consultations/rate-check/respond`,
    { form: { ...form, csrf_token: 'f'.repeat(64) } });
  check(wrong.status() === 403, `a post with a wrong CSRF token answered ${wrong.status()}`);
  const other = await browser.newContext();
  const foreignPage = await other.request.get(`${base}/consultations/rate-check/respond`);
  const foreignToken = (await foreignPage.text()).match(/name="csrf_token" value="([0-9a-f]+)"/)[1];
  const crossed = await context.request.post(`${base}/consultations/rate-check/respond`,
    { form: { ...form, csrf_token: foreignToken } });
  check(crossed.status() === 403, `another browser's CSRF token answered ${crossed.status()}`);
  await other.close();
  const probes = json(e('list-responses', 'rate-check')).responses || [];
  check(probes.length === 0, 'a refused post reached the API');
  console.log('ok: posts without the CSRF token, with a wrong one and with another browser\'s: 403, nothing recorded');

  // 8. The rate limit per client: the burst (3, one already used by the keyboard flow and one
  //    by the empty form) then 429 with Retry-After.
  const formPage = await context.request.get(`${base}/consultations/rate-check/respond`);
  const csrf = (await formPage.text()).match(/name="csrf_token" value="([0-9a-f]+)"/)[1];
  let limited = null;
  for (let i = 0; i < 5 && !limited; ++i) {
    const r = await context.request.post(`${base}/consultations/rate-check/respond`,
      { form: { text: `rate ${i}`, csrf_token: csrf, submission: crypto.randomBytes(16).toString('hex') } });
    if (r.status() === 429) limited = r;
    else check(r.status() === 200, `post ${i} answered ${r.status()}`);
  }
  check(limited && Number(limited.headers()['retry-after']) >= 1, 'no 429 with Retry-After');
  console.log('ok: the rate limit per client answers 429 with Retry-After');

  // 9. Without JavaScript the pages still work (server-rendered): the list and the form.
  const nojs = await browser.newContext({ javaScriptEnabled: false });
  const nojsPage = await nojs.newPage();
  await nojsPage.goto(`${base}/consultations`);
  check((await nojsPage.locator('h1').textContent()).includes('Consultations'), 'no list without JavaScript');
  await nojs.close();
  console.log('ok: pages render without JavaScript');

  // 10. Staff: a page without a login redirects to the login; the login form refuses a post
  //     without its CSRF token and a token no service knows; a real token gets a session cookie
  //     (HttpOnly, Secure, SameSite=Strict) and the page asked for.
  const redirected = await page.goto(`${base}/staff/ops`);
  check(new URL(page.url()).pathname === '/staff/login' && redirected.status() === 200,
    `/staff/ops without a login went to ${page.url()}`);
  await audit('staff login', 'staff-login', redirected);
  const bare = await context.request.post(`${base}/staff/login`, { form: { token: admin, next: '/staff' } });
  check(bare.status() === 403, `a login post without the CSRF token answered ${bare.status()}`);
  await page.fill('#token', 'not-a-token');
  const [unknown] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  check(unknown.status() === 400 && (await text('.nhsuk-error-summary')).includes('not recognised'),
    'an unknown token was not refused');
  await audit('staff login with an error', 'staff-login-error', unknown);
  await page.fill('#token', admin);
  const [ops] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  check(new URL(page.url()).pathname === '/staff/ops' && ops.status() === 200, `login went to ${page.url()}`);
  const session = (await context.cookies()).find((c) => c.name === 'dorset_session');
  check(session && session.httpOnly && session.secure && session.sameSite === 'Strict',
    `the session cookie is ${JSON.stringify(session)}`);
  console.log('ok: no login -> login page; login without CSRF 403; unknown token refused; session cookie HttpOnly Secure SameSite=Strict');

  // 11. The ops page: the figures are the services' own (readiness reasons, the change feed's
  //     latest sequence as dorsetctl reads it), and a reload measures the call rate.
  await sleep(1000);  // the rate is measured between two looks at the page
  await page.reload();
  await audit('ops', 'staff-ops', null);
  const changes = spawnSync(path.join(build, 'cli', 'dorsetctl'), ['registry', 'changes', '--page_size=1'],
    { env: ctlEnv, encoding: 'utf8' });
  const latest = changes.stderr.match(/latest sequence (\d+)/);
  check(latest && await text('[data-latest-sequence]') === latest[1],
    `latest sequence ${await text('[data-latest-sequence]')} differs from dorsetctl's ${latest && latest[1]}`);
  for (const [name, opsPort] of [['Registry', ports.registryOps], ['Finance', ports.financeOps],
    ['Engagement', ports.engagementOps]]) {
    const row = page.locator(`tr[data-service="${name}"]`);
    const reason = (await (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).text()).trim();
    check((await row.locator('[data-ready-reason]').textContent()).trim() === reason,
      `${name}: readiness differs from its /readyz (${reason})`);
    const versionAnswer = await fetch(`http://127.0.0.1:${opsPort}/version`);
    const version = (await versionAnswer.text()).trim();
    check(versionAnswer.status === 200 && /^\d+\.\d+\.\d+\+([0-9a-f]{7,40}|unknown)$/.test(version),
      `${name}: /version answered ${versionAnswer.status} "${version}"`);
    check((await row.locator('[data-version]').textContent()).trim() === version,
      `${name}: version differs from its /version (${version})`);
    check(Number(await row.locator('[data-calls]').textContent()) > 0, `${name}: no calls counted`);
    check((await row.textContent()).includes('a second'), `${name}: no call rate after a reload`);
  }
  console.log(`ok: ops page equals the services' /readyz, /version and the change feed (latest sequence ${latest[1]})`);

  // 12. The permission table decides: a finance-reader cannot read the registry, so no ops page.
  const reader = await browser.newContext();
  const readerPage = await reader.newPage();
  await readerPage.goto(`${base}/staff/login`);
  await readerPage.fill('#token', financeReader);
  await Promise.all([readerPage.waitForNavigation(), readerPage.click('button[type=submit]')]);
  const denied = await readerPage.goto(`${base}/staff/ops`);
  check(denied.status() === 403, `a finance-reader got the ops page (${denied.status()})`);
  await reader.close();
  console.log('ok: a finance-reader is refused the ops page (403, the registry\'s permission table)');

  // 13. Logging out (a form with its CSRF token) ends the session.
  await page.goto(`${base}/staff`);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/staff/logout"] button')]);
  await page.goto(`${base}/staff/ops`);
  check(new URL(page.url()).pathname === '/staff/login', 'the session outlived the logout');
  console.log('ok: logout ends the session');

  // 14. Finance: the report, its CSV and the gap chart's figures equal dorsetctl's; a finance
  //     user posts an actual and the report and the chart change by it.
  await page.goto(`${base}/staff/login?next=/staff/finance`);
  await page.fill('#token', admin);
  const [financeResponse] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  check(new URL(page.url()).pathname === '/staff/finance', `login went to ${page.url()}`);
  await audit('finance', 'staff-finance', financeResponse);
  const pence = (text) => {
    const m = text.trim().match(/^(-?)£?([0-9,]+)\.([0-9]{2})$/);
    check(m, `not money: ${text}`);
    return (BigInt(m[2].replace(/,/g, '')) * 100n + BigInt(m[3])) * (m[1] ? -1n : 1n);
  };
  const csvRows = () => ctl('finance', 'report', '--year=2020-21', '--month=6', '--csv')
    .trim().split(/\r?\n/).slice(1).map((l) => l.split(','));
  const planActual = async () => pence(await text('tr[data-node] [data-ytd-actual]'));
  let rows = csvRows();
  const csvPence = (v) => pence(v.startsWith('-') ? `-£${v.slice(1)}` : `£${v}`);
  check(await planActual() === csvPence(rows[0][8]), 'the report differs from dorsetctl\'s');
  check(await page.locator('tr[data-node]').count() === rows.length, 'the report has other lines than dorsetctl\'s');
  const download = await context.request.get(`${base}/staff/finance/report.csv?year=2020-21&month=6`);
  check(download.ok() && download.headers()['content-type'].startsWith('text/csv') &&
    download.headers()['content-disposition'].startsWith('attachment'), 'the CSV is not a download');
  const downloaded = (await download.text()).trim().split(/\r?\n/);
  check(downloaded.length === rows.length + 1, `the CSV has ${downloaded.length - 1} lines, dorsetctl ${rows.length}`);
  const gapDelivered = async () => pence(await text('tr[data-year="2020-21"] [data-delivered]'));
  const gapFromCtl = () => {
    const line = ctl('finance', 'gap').split('\n').find((l) => l.startsWith('2020-21'));
    return pence(line.trim().split(/\s+/)[2]);
  };
  check(await gapDelivered() === gapFromCtl(), 'the chart\'s delivered figure differs from dorsetctl\'s');
  const before = await planActual();
  const deliveredBefore = await gapDelivered();
  // The finance user posts the actual through the console's own form (as themselves).
  const scheme = ctl('finance', 'schemes').match(/plans\/[a-z0-9/-]*rightcare[a-z0-9/-]*/)[0];
  const editor = await browser.newContext();
  const ep = await editor.newPage();
  await ep.goto(`${base}/staff/login?next=/staff/finance`);
  await ep.fill('#token', financeEditor);
  await Promise.all([ep.waitForNavigation(), ep.click('form[action="/staff/login"] button')]);
  await ep.selectOption('#scheme', scheme);
  await ep.fill('#amount', '1,000,000.00');
  await ep.fill('#reason', 'console browser test');
  const [posted] = await Promise.all([ep.waitForNavigation(),
    ep.click('form[action="/staff/finance/postings"] button')]);
  check(posted.status() === 200 && new URL(ep.url()).pathname === '/staff/finance',
    `the posting answered ${posted.status()} at ${ep.url()}`);
  await editor.close();
  const postings = ctl('finance', 'postings', `--node=${scheme}`, '--year=2020-21', '--kind=actual', '--csv');
  check(postings.includes('test-finance-editor'), 'the posting is not the finance editor\'s');
  // A reader may read the report but not post: the service's permission table says 403.
  const readerFinance = await browser.newContext();
  const rf = await readerFinance.newPage();
  await rf.goto(`${base}/staff/login?next=/staff/finance`);
  await rf.fill('#token', readerToken);
  await Promise.all([rf.waitForNavigation(), rf.click('form[action="/staff/login"] button')]);
  await rf.fill('#amount', '5.00');
  const [refusedPost] = await Promise.all([rf.waitForNavigation(),
    rf.click('form[action="/staff/finance/postings"] button')]);
  check(refusedPost.status() === 403, `a reader's posting answered ${refusedPost.status()}`);
  await readerFinance.close();
  await page.reload();
  await audit('finance after a posting', 'staff-finance-after-posting', null);
  check(await planActual() - before === 100000000n, `the plan's actual moved by ${await planActual() - before} pence`);
  rows = csvRows();
  check(await planActual() === csvPence(rows[0][8]), 'the report differs from dorsetctl\'s after the posting');
  check(await gapDelivered() === gapFromCtl() && await gapDelivered() !== deliveredBefore,
    'the chart did not change with the posting');
  check(await page.locator('figure.dorset-chart svg[role="img"] title').count() === 1, 'the chart has no title');
  console.log('ok: finance report, CSV and chart equal dorsetctl\'s; a finance editor posts £1,000,000.00 through the form and the report and the chart move by it; a reader\'s posting is refused (403)');

  // 15. Engagement: every activity with its lifecycle action; opening a draft through the page
  //     opens it in the API; aggregates equal dorsetctl's; an admin sees a stakeholder's contact,
  //     a reader sees it redacted and is refused a lifecycle action (403).
  e('create-activity', '--id=lifecycle-check', '--kind=SURVEY', '--title=Lifecycle check');
  ctl('engagement', 'create-stakeholder', '--kind=PATIENT', '--display_name=Pat Example',
    '--email=pat@example.org', '--contact_consent');
  const listResponse = await page.goto(`${base}/staff/engagement`);
  await audit('engagement', 'staff-engagement', listResponse);
  const all = jsonLines(e('list-activities'));
  check(await text('[data-activity-count]') === String(all.length), 'the activity count differs from the API');
  await Promise.all([page.waitForNavigation(),
    page.click('tr[data-activity="lifecycle-check"] button[type=submit]')]);
  check(json(e('get-activity', 'lifecycle-check')).state === 'ACTIVITY_STATE_OPEN', 'the page did not open the draft');
  const aggResponse = await page.goto(`${base}/staff/engagement/maternity`);
  await audit('engagement aggregates', 'staff-engagement-aggregates', aggResponse);
  const agg = json(e('aggregates', 'maternity'));
  check(await text('[data-total-responses]') === String(agg.totalResponses), 'the total differs from the API');
  const themeValues = await page.locator('[data-chart-table="by-theme"] [data-chart-value]').allTextContents();
  check(JSON.stringify(themeValues.map(Number)) === JSON.stringify(agg.byTheme.map((c) => Number(c.responses))),
    `theme counts ${themeValues} differ from the API's`);
  const stakeholders = await page.goto(`${base}/staff/engagement/stakeholders`);
  await audit('stakeholders (admin)', 'staff-stakeholders', stakeholders);
  check((await page.locator('main').textContent()).includes('pat@example.org'), 'the admin does not see the contact');
  const readerContext = await browser.newContext();
  const rp = await readerContext.newPage();
  await rp.goto(`${base}/staff/login?next=/staff/engagement/stakeholders`);
  await rp.fill('#token', readerToken);
  await Promise.all([rp.waitForNavigation(), rp.click('button[type=submit]')]);
  const readerMain = await rp.locator('main').textContent();
  check(readerMain.includes('Pat Example') || readerMain.includes('(no name)'), 'the reader sees no stakeholder');
  check(!readerMain.includes('pat@example.org') && readerMain.includes('Redacted for your role'),
    'the reader sees the contact details');
  await rp.screenshot({ path: path.join(shots, 'staff-stakeholders-reader.png'), fullPage: true });
  await rp.goto(`${base}/staff/engagement`);
  const [readerAction] = await Promise.all([rp.waitForNavigation(),
    rp.click('tr[data-activity="lifecycle-check"] button[type=submit]')]);
  check(readerAction.status() === 403, `a reader closing an activity got ${readerAction.status()}`);
  check(json(e('get-activity', 'lifecycle-check')).state === 'ACTIVITY_STATE_OPEN', 'the reader changed the activity');
  await readerContext.close();
  console.log('ok: engagement list and lifecycle through the page, aggregates equal the API, reader sees redacted stakeholders and is refused actions');

  // 16. Registry: the search equals dorsetctl's for the same filters; a practice with its
  //     history; the area tree's population of a locality equals the API's.
  const search = await page.goto(`${base}/staff/registry?locality=localities/poole-central&status=STATUS_ACTIVE`);
  await audit('registry search', 'staff-registry', search);
  const listed = ctl('registry', 'list', '--locality=poole-central', '--status=active', '--page_size=200', '--json')
    .trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  check(await text('[data-practice-count]') === String(listed.length) && listed.length > 0,
    `the search found ${await text('[data-practice-count]')}, dorsetctl ${listed.length}`);
  const codes = await page.locator('tr[data-practice]').evaluateAll((rows) => rows.map((r) => r.dataset.practice));
  check(JSON.stringify([...codes].sort()) === JSON.stringify(listed.map((p) => p.odsCode).sort()),
    'the search lists other practices than dorsetctl');
  const practice = await page.goto(`${base}/staff/registry/practices/${codes[0]}`);
  await audit('practice', 'staff-practice', practice);
  check((await page.locator('main').textContent()).includes(codes[0]), 'the practice page lacks its code');
  check(await page.locator('main tbody tr').count() >= 1, 'no history');
  const areas = await page.goto(`${base}/staff/registry/areas`);
  await audit('areas', 'staff-areas', areas);
  const poole = JSON.parse(ctl('registry', 'locality', 'poole-central'));
  check(await text('[data-locality="localities/poole-central"] [data-population]') ===
    String(poole.registeredPatients || 0), 'the locality population differs from the API');
  console.log(`ok: registry search equals dorsetctl (${listed.length} practices), practice history, area tree`);

  await browser.close();
  browser = null;
  cleanup();
  console.log('PASS: console browser tests');
} catch (err) {
  await fail(err.stack || String(err));
}
