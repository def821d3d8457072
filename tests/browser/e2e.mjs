// End-to-end test of the web page in a real browser (CTest label `browser`).
// Starts `moodtunes serve --port 0 --offline` on a catalog imported for the test, drives Debian's
// headless Chromium with puppeteer-core, its fake camera playing a clip of a real face, and checks
// what a person would: the camera's face gets a box and an emotion, tracks appear, a like reaches
// the server (204) with the list's context, a preview played with the camera on sends the face's
// reaction and shows it, stopping the camera closes the stream; a photo upload gets a box and an
// emotion, and a photo of one small face gets it on the server's second look (?small_faces=auto, one request);
// and nothing on the way logs a console error or breaks the CSP. Exits non-zero on any failure.
//
//   node e2e.mjs --binary MOODTUNES --make-clip MAKE_CLIP --data DATA --out DIR
//                [--chromium /usr/bin/chromium] [--web-root web/] [--expect happy]
// $MOODTUNES_DATA, when set, wins over --data (as in the other tests). The camera clip is built
// once into DIR/clip.y4m by make_clip (make_clip.cpp) from CLIP_PHOTO; the upload sends PHOTO.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';

const TOTAL_MS = 85_000;       // the whole test; CTest's TIMEOUT is a little longer
const FACE_MS = 10_000;        // camera started → a box and an emotion on the page
const EMOTIONS = ['angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise'];
// Real photos from realfaces/val (held out from training) that the shipped model reads as happy.
const CLIP_PHOTO = 'realfaces/val/happy/lfw_0901c58bd7ac.jpg';   // grey LFW crop, 350x350
const PHOTO = 'realfaces/val/happy/web_0b2f93af95f9.jpg';        // colour web crop, 224x224
const SMALL_PHOTO_PX = 52;     // CLIP_PHOTO shrunk to this on a 640x480 wall: one face of ~44 px

const { values: opt } = parseArgs({
  options: {
    binary: { type: 'string' }, 'make-clip': { type: 'string' }, data: { type: 'string' },
    out: { type: 'string', default: process.cwd() },
    chromium: { type: 'string', default: process.env.CHROMIUM ?? '/usr/bin/chromium' },
    'web-root': { type: 'string' },
    expect: { type: 'string', default: 'happy' },   // the emotion the clip and photo show
  },
});
for (const name of ['binary', 'make-clip', 'data']) {
  if (!opt[name]) fail(`--${name} is required`);
}
const data = process.env.MOODTUNES_DATA || opt.data;
for (const file of [CLIP_PHOTO, PHOTO, 'deezer-mood']) {
  if (!fs.existsSync(path.join(data, file))) fail(`${path.join(data, file)} is missing (set MOODTUNES_DATA)`);
}
if (!fs.existsSync(opt.chromium)) fail(`no browser at ${opt.chromium}: run scripts/install-browser-test-deps.sh`);
let puppeteer;
try {
  ({ default: puppeteer } = await import('puppeteer-core'));
} catch {
  fail('puppeteer-core is not installed in tests/browser: run scripts/install-browser-test-deps.sh');
}

const started = Date.now();
const failures = [];
const log = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
const check = (ok, what) => { if (ok) log(`ok: ${what}`); else { failures.push(what); log(`FAIL: ${what}`); } };

let server = null;
let browser = null;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'moodtunes-browser-'));

async function cleanup() {
  await browser?.close().catch(() => {});
  browser = null;
  if (server && server.exitCode === null) server.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
}

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(2);
}

// Never hang: whatever is still running after TOTAL_MS fails the test.
const watchdog = setTimeout(async () => {
  console.error(`FAIL: the test took longer than ${TOTAL_MS / 1000} s`);
  await cleanup();
  process.exit(1);
}, TOTAL_MS);
// The server must not outlive the test, however it ends.
process.on('exit', () => { if (server && server.exitCode === null) server.kill('SIGKILL'); });

// ---- the camera clip ------------------------------------------------------------------------------
// Built once per build folder (a 4 s 640x480 clip is ~55 MB), again when its inputs change.
function cameraClip() {
  const clip = path.join(opt.out, 'clip.y4m');
  const photo = path.join(data, CLIP_PHOTO);
  const mtime = (f) => fs.statSync(f).mtimeMs;
  if (!fs.existsSync(clip) || mtime(clip) < Math.max(mtime(opt['make-clip']), mtime(photo))) {
    execFileSync(opt['make-clip'], [photo, clip, '--size', '250', '--seconds', '4'], { stdio: 'inherit', timeout: 30_000 });
  }
  return clip;
}

// ---- the server ----------------------------------------------------------------------------------
function importCatalog() {
  const catalog = path.join(tmp, 'catalog.sqlite');
  execFileSync(opt.binary, ['catalog', 'import', path.join(data, 'deezer-mood'), '--catalog', catalog],
    { stdio: ['ignore', 'ignore', 'inherit'], timeout: 30_000 });
  return catalog;
}

function startServer(catalog) {
  const args = ['serve', '--port', '0', '--offline', '--catalog', catalog];
  if (opt['web-root']) args.push('--web-root', opt['web-root']);
  // The server's settings come from its flags alone: no MOODTUNES_* from the caller's shell (an
  // API key, another web root) but the data and the model; HOME and the Spotify config in the
  // temp folder, so no login of this machine shows.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
    !k.startsWith('MOODTUNES_') || k === 'MOODTUNES_DATA' || k === 'MOODTUNES_MODEL'));
  Object.assign(env, { HOME: tmp, MOODTUNES_SPOTIFY_CONFIG: path.join(tmp, 'spotify.json') });
  server = spawn(opt.binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = [];
  server.stderr.on('data', (d) => { stderr.push(d); if (stderr.length > 200) stderr.shift(); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server printed no address within 30 s')), 30_000);
    const lines = readline.createInterface({ input: server.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      const m = line.match(/^moodtunes serving on (http:\/\/\S+?:(\d+)\/)/);
      if (m) resolve(m[1]);
      else reject(new Error(`unexpected first line from the server: ${line}`));
    });
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}): ${Buffer.concat(stderr).toString().slice(-2000)}`));
    });
  });
}

// ---- the page ------------------------------------------------------------------------------------
// Console errors, page errors, CSP violations and failed API calls, per page.
function watch(page, name) {
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${name}: console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // ERR_ABORTED: the page cancelled it (a frame in flight when the camera stops, a page closing).
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`${name}: request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${name}: ${r.request().method()} ${r.url()} answered ${r.status()}`);
  });
  // A CSP violation also logs a console error; this catches the ones that do not (reports only).
  page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));
  });
  return problems;
}

// Pixels the page drew on the overlay canvas (boxes and labels): > 0 once a box is drawn.
const overlayInk = (page) => page.$eval('#overlay', (c) => {
  if (!c.width || !c.height) return 0;
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
  return n;
});

const faceTitles = (page) => page.$$eval('.face-title', (els) => els.map((e) => e.textContent));
const emotionOf = (title) => EMOTIONS.find((e) => title.endsWith(`: ${e}`));

async function waitFor(what, fn, timeout) {
  const until = Date.now() + timeout;
  for (;;) {
    const value = await fn().catch(() => null);
    if (value) return value;
    if (Date.now() > until) return null;
    await new Promise((r) => setTimeout(r, 200));
  }
}

// A 16-bit mono WAV of `seconds` of a quiet 440 Hz tone.
function toneWav(seconds) {
  const rate = 8000, n = rate * seconds;
  const buf = Buffer.alloc(44 + 2 * n);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + 2 * n, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(2 * rate, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write('data', 36); buf.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(800 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + 2 * i);
  return buf;
}

// The offline catalog has no previews: the first recommended track gets one that the test
// serves (4 s of a tone), so the page can measure the face's reaction while it plays.
async function givePreviews(page) {
  const wav = toneWav(4);
  await page.setRequestInterception(true);
  page.on('request', async (req) => {
    try {
      if (req.url().endsWith('/e2e-preview.wav')) {
        await req.respond({ status: 200, contentType: 'audio/wav', body: wav });
      } else if (req.url().endsWith('/api/recommend') && req.method() === 'POST') {
        const r = await fetch(req.url(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: req.postData() });
        const body = await r.json();
        if (body.tracks?.[0]) body.tracks[0].preview = '/e2e-preview.wav';
        await req.respond({ status: r.status, contentType: 'application/json', body: JSON.stringify(body) });
      } else {
        await req.continue();
      }
    } catch (err) {
      failures.push(`request interception: ${err.message}`);
    }
  });
}

async function cameraCase(url) {
  const page = await browser.newPage();
  const problems = watch(page, 'camera');
  await givePreviews(page);
  await page.setViewport({ width: 1280, height: 800 });
  await page.goto(url, { waitUntil: 'load', timeout: 15_000 });
  check((await page.title()).includes('moodtunes'), 'the page loads');

  const streamOpened = page.waitForResponse((r) => r.url().endsWith('/api/streams') && r.request().method() === 'POST', { timeout: 15_000 });
  await page.click('#camera-toggle');
  const opened = await streamOpened.catch(() => null);
  check(opened?.status() === 201, `POST /api/streams answered 201 (got ${opened?.status()})`);

  const t0 = Date.now();
  const face = await waitFor('a face', async () => {
    const titles = await faceTitles(page);
    return titles.length && (await overlayInk(page)) > 0 ? titles : null;
  }, FACE_MS);
  check(face !== null, `within ${FACE_MS / 1000} s the camera's face has a box and an emotion (${((Date.now() - t0) / 1000).toFixed(1)} s: ${face})`);
  if (face) check(emotionOf(face[0]) === opt.expect, `the camera's face reads ${opt.expect} (${face[0]})`);

  const tracks = await waitFor('tracks', async () => {
    const n = await page.$$eval('#tracks .track', (els) => els.length);
    return n >= 5 ? n : null;
  }, 10_000);
  check(tracks !== null, `at least 5 tracks render (${tracks ?? 0})`);
  const note = await page.$eval('#music-note', (e) => e.textContent);
  check(/offline/i.test(note), `the page says the catalog is offline ("${note}")`);

  if (tracks) {
    const feedback = page.waitForResponse((r) => r.url().endsWith('/api/feedback'), { timeout: 10_000 });
    await page.click('#tracks .track:first-child button.like');
    const answer = await feedback.catch(() => null);
    const sent = answer ? JSON.parse(answer.request().postData() ?? '{}') : {};
    check(answer?.status() === 204, `liking a track: POST /api/feedback answered 204 (got ${answer?.status()})`);
    check(sent.signal === 'like' && Number.isInteger(sent.track_id) && sent.listener && sent.event_id &&
      typeof sent.mood?.valence === 'number' && sent.strategy,
      `the feedback carries listener, track_id, signal, event_id, the list's mood and strategy (${JSON.stringify(sent)})`);
    const pressed = await waitFor('liked', () =>
      page.$eval('#tracks .track:first-child button.like', (b) => b.getAttribute('aria-pressed') === 'true'), 3000);
    check(pressed, 'the like button shows it was sent');

    // Implicit feedback: the preview plays to its end with the camera on; the page sends how
    // the face's mood moved, and says it on the track.
    const reacted = page.waitForResponse((r) => r.url().endsWith('/api/feedback') &&
      JSON.parse(r.request().postData() ?? '{}').signal === 'reaction', { timeout: 15_000 });
    await page.click('#tracks .track:first-child button.play');
    const reaction = await reacted.catch(() => null);
    const body = reaction ? JSON.parse(reaction.request().postData() ?? '{}') : {};
    check(reaction?.status() === 204, `a played preview sends a reaction: POST /api/feedback answered 204 (got ${reaction?.status()})`);
    check(typeof body.reaction?.valence === 'number' && typeof body.reaction?.arousal === 'number' &&
      typeof body.mood?.valence === 'number' && body.strategy,
      `the reaction carries the face's mood change and the list's context (${JSON.stringify(body)})`);
    const words = await waitFor('the reaction shown', () =>
      page.$eval('#tracks .track:first-child .track-reaction', (e) => e.textContent), 3000);
    check(/during this one/.test(words ?? ''), `the track says how the face reacted ("${words}")`);
  }

  const shot = path.join(opt.out, 'browser-e2e-camera.png');
  await page.screenshot({ path: shot, fullPage: true });
  log(`screenshot: ${shot}`);

  const closed = page.waitForResponse((r) => /\/api\/streams\/[^/]+$/.test(r.url()) && r.request().method() === 'DELETE', { timeout: 5000 });
  await page.click('#camera-toggle');
  const del = await closed.catch(() => null);
  check(del?.status() === 204, `stopping the camera closes the stream: DELETE answered 204 (got ${del?.status()})`);

  const csp = await page.evaluate(() => window.__csp);
  await page.close();
  return [...problems, ...csp.map((v) => `camera: CSP violation: ${v}`)];
}

async function photoCase(url) {
  const page = await browser.newPage();
  const problems = watch(page, 'photo');
  await page.setViewport({ width: 360, height: 740, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await page.goto(url, { waitUntil: 'load', timeout: 15_000 });
  let analyzeRequests = 0;
  page.on('request', (r) => { analyzeRequests += r.url().includes('/api/analyze') ? 1 : 0; });
  const analyzed = page.waitForResponse((r) => r.url().endsWith('/api/analyze?small_faces=auto'), { timeout: 15_000 });
  const input = await page.$('#photo-input');
  await input.uploadFile(path.join(data, PHOTO));
  const answer = await analyzed.catch(() => null);
  check(answer?.status() === 200, `POST /api/analyze answered 200 (got ${answer?.status()})`);
  const face = await waitFor('a face', async () => {
    const titles = await faceTitles(page);
    return titles.length && (await overlayInk(page)) > 0 ? titles : null;
  }, 10_000);
  check(face !== null, `the photo's face has a box and an emotion (${face})`);
  if (face) check(emotionOf(face[0]) === opt.expect, `the photo's face reads ${opt.expect} (${face[0]})`);
  const tracks = await waitFor('tracks', async () => {
    const n = await page.$$eval('#tracks .track', (els) => els.length);
    return n >= 5 ? n : null;
  }, 10_000);
  check(tracks !== null, `the photo gets at least 5 tracks (${tracks ?? 0})`);
  const shot = path.join(opt.out, 'browser-e2e-photo-phone.png');
  await page.screenshot({ path: shot, fullPage: true });
  log(`screenshot: ${shot}`);

  // One small face alone on a wall: the server's default leaves a lone face under ~80 px out, and
  // its second look (?small_faces=auto) finds it in the same request; the page says so.
  const small = path.join(tmp, 'small-face.png');
  execFileSync(opt['make-clip'], [path.join(data, CLIP_PHOTO), small, '--size', String(SMALL_PHOTO_PX)], { stdio: 'ignore', timeout: 30_000 });
  const requestsBefore = analyzeRequests;
  const secondLook = page.waitForResponse((r) => r.url().endsWith('/api/analyze?small_faces=auto'), { timeout: 15_000 });
  await input.uploadFile(small);
  const again = await secondLook.catch(() => null);
  check(again?.status() === 200, `a photo without a face at the usual sizes is answered 200 (${again?.status()})`);
  const smallFace = await waitFor('a small face', async () => {
    const status = await page.$eval('#status', (el) => el.textContent);
    const titles = await faceTitles(page);
    return titles.length && /small face found/i.test(status) ? status : null;
  }, 10_000);
  // The page says so only when the answer's second_look is true.
  check(smallFace !== null, `the small face has a box and the page says it was found on a second look (${smallFace})`);
  check(analyzeRequests === requestsBefore + 1, `the photo was sent once (${analyzeRequests - requestsBefore} requests)`);
  const smallShot = path.join(opt.out, 'browser-e2e-small-face-phone.png');
  await page.screenshot({ path: smallShot, fullPage: true });
  log(`screenshot: ${smallShot}`);
  const csp = await page.evaluate(() => window.__csp);
  await page.close();
  return [...problems, ...csp.map((v) => `photo: CSP violation: ${v}`)];
}

// ---- run -----------------------------------------------------------------------------------------
try {
  fs.mkdirSync(opt.out, { recursive: true });
  const clip = cameraClip();
  const catalog = importCatalog();
  const url = await startServer(catalog);
  log(`server: ${url}`);
  browser = await puppeteer.launch({
    executablePath: opt.chromium,
    headless: true,
    timeout: 20_000,
    protocolTimeout: 30_000,
    args: [
      '--no-sandbox',                       // headless Chromium as root runs only without it
      '--disable-dev-shm-usage',
      '--use-fake-ui-for-media-stream',     // grant the camera without a prompt
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${clip}`,
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  const problems = [...await cameraCase(url), ...await photoCase(url)];
  check(problems.length === 0, `no console errors, page errors, CSP violations or failed requests${problems.length ? ':\n  ' + problems.join('\n  ') : ''}`);
} catch (err) {
  failures.push(err.message);
  log(`FAIL: ${err.stack ?? err.message}`);
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
if (failures.length) {
  console.error(`\n${failures.length} check(s) failed:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
log('all checks passed');
