// The page's wiring: camera or photo → faces and mood on screen → recommendations, which refresh
// when the (smoothed) group emotion changes, at most every ~4 s, or when the strategy changes.
import * as api from './api.js';
import { ApiError } from './api.js';
import { Camera } from './camera.js';
import { drawBoxes, clearBoxes, FacePanels } from './faces.js';
import { MoodPlane } from './plane.js';
import { watchPhotoInputs, analyzePhoto } from './photo.js';
import { renderTracks } from './tracks.js';

const REFRESH_MS = 4000;         // the fastest recommendations change while the camera runs
const NO_FACE_MS = 1500;         // how long without a face before saying so
const REACTION_MIN_MS = 3000;    // a shorter listen says nothing about how the face reacted
const REACTION_STEP = 0.05;      // face-mood change (toward the list's goal) that counts as a reaction

const $ = (id) => document.getElementById(id);
const ui = {
  cameraToggle: $('camera-toggle'), photoInput: $('photo-input'), status: $('status'),
  stage: $('stage'), video: $('video'), photo: $('photo'), overlay: $('overlay'),
  group: $('group'), note: $('music-note'), tracks: $('tracks'), spotify: $('spotify'),
  saveSpotify: $('save-spotify'), spotifyResult: $('spotify-result'), serverInfo: $('server-info'),
};

const panels = new FacePanels($('faces'));
const plane = new MoodPlane($('plane'), $('plane-caption'));
const listener = listenerId();

const state = {
  source: null,              // 'camera' | 'photo' | null
  faces: [], imageSize: null,
  mood: null,                // what /api/recommend is asked about: {probabilities} of the group
  emotion: null,             // the group's emotion now
  recKey: null,              // "emotion|strategy" the tracks on screen were picked for
  recs: null,                // the last recommendation
  lastRecAt: -Infinity, recTimer: null, recBusy: false, recAgain: false, recAgainForce: false,
  lastFaceAt: 0,
  faceMood: null,            // the camera's smoothed mood now: {valence, arousal}
  listening: new Map(),      // track id → {start: face mood, at: ms} while its preview plays
};

// ---- status region ----------------------------------------------------------------------------
function setStatus(message, kind = 'info') {
  ui.status.textContent = message ?? '';
  ui.status.dataset.kind = message ? kind : '';
}

// ---- stage: faces drawn over the video or photo ------------------------------------------------
function showStage(source, width, height) {
  ui.stage.classList.toggle('empty', source === null);
  ui.video.hidden = source !== 'camera';
  ui.photo.hidden = source !== 'photo';
  if (width && height) ui.stage.style.setProperty('--aspect', String(width / height));
}

function showReading(reading, size) {
  state.faces = reading.faces ?? [];
  state.imageSize = size;
  redrawBoxes();
  panels.update(state.faces);
  const group = reading.group;
  if (group) {
    const many = state.faces.length > 1 ? `${state.faces.length} faces · group mood` : 'Mood';
    const words = reading.mood?.description ? ` — ${reading.mood.description}` : '';
    const text = `${many}: ${group.emotion}${words}`;
    if (ui.group.textContent !== text) ui.group.textContent = text;   // aria-live: say changes only
    ui.group.hidden = false;
    state.mood = { probabilities: group.probabilities };
    state.emotion = group.emotion;
  }
  if (reading.mood) plane.setMood(reading.mood, group?.emotion);
  state.faceMood = state.source === 'camera' && reading.mood
    ? { valence: reading.mood.valence, arousal: reading.mood.arousal } : null;
}

function redrawBoxes() {
  if (!state.imageSize) return clearBoxes(ui.overlay);
  drawBoxes(ui.overlay, state.faces, state.imageSize.width, state.imageSize.height,
    { mirrored: state.source === 'camera' });
}
new ResizeObserver(redrawBoxes).observe(ui.stage);

// Boxes and bars go; with `mood` (a new camera session or photo) the mood read before goes too.
// The tracks on screen stay until new ones come.
function clearReading({ mood = false } = {}) {
  state.faces = [];
  state.imageSize = null;
  clearBoxes(ui.overlay);
  panels.clear();
  if (!mood) return;
  state.mood = state.emotion = null;
  ui.group.hidden = true;
  ui.group.textContent = '';
  plane.setMood(null);
}

// ---- camera -----------------------------------------------------------------------------------
const camera = new Camera(ui.video, {
  onReading(reading, size) {
    if (state.source !== 'camera') return;
    const now = performance.now();
    if (reading.faces?.length) {
      state.lastFaceAt = now;
      if (ui.status.dataset.kind) setStatus('');
    } else if (now - state.lastFaceAt > NO_FACE_MS) {
      setStatus('No face in view. Face the camera, in good light.', 'warn');
    }
    showReading(reading, size);
    if (state.emotion && recKey() !== state.recKey) wantRecommendations(false);
  },
  onStatus: setStatus,
});

async function startCamera() {
  if (!Camera.supported()) {
    setStatus('This browser cannot use a camera here (it needs https or localhost). Upload a photo instead.', 'error');
    return;
  }
  setStatus('Starting the camera…');
  clearReading({ mood: true });
  state.source = 'camera';
  state.lastFaceAt = performance.now();
  setCameraButton(true);
  try {
    await camera.start();
  } catch (err) {
    state.source = null;
    setCameraButton(false);
    showStage(null);
    setStatus(err.message, 'error');
    return;
  }
  showStage('camera', ui.video.videoWidth || 640, ui.video.videoHeight || 480);
  setStatus('Reading your face…');
}

function stopCamera() {
  camera.stop();
  state.source = null;
  setCameraButton(false);
  clearReading();
  showStage(null);
  setStatus('Camera stopped.');
}

function setCameraButton(on) {
  ui.cameraToggle.textContent = on ? 'Stop camera' : 'Start camera';
  ui.cameraToggle.setAttribute('aria-pressed', String(on));
}

ui.cameraToggle.addEventListener('click', () => (camera.running || state.source === 'camera' ? stopCamera() : startCamera()));
// A camera may change its resolution while it runs: keep the stage's shape.
ui.video.addEventListener('resize', () => {
  if (state.source === 'camera' && ui.video.videoWidth) showStage('camera', ui.video.videoWidth, ui.video.videoHeight);
});
// Frees the server's stream slot when the page goes away (the DELETE is sent with keepalive).
window.addEventListener('pagehide', () => camera.releaseStream());

// ---- photo ------------------------------------------------------------------------------------
async function readPhoto(file) {
  if (camera.running) camera.stop();
  setCameraButton(false);
  clearReading({ mood: true });
  state.source = 'photo';
  setStatus(`Reading ${file.name || 'the photo'}…`);
  let result;
  try {
    result = await analyzePhoto(file, ui.photo);
  } catch (err) {
    // An ApiError comes after the photo was drawn: show it; a file that is no image has none.
    const drawn = err instanceof ApiError;
    showStage(drawn ? 'photo' : null, ui.photo.width, ui.photo.height);
    setStatus(drawn && err.status ? `Server error: ${err.message}` : err.message, 'error');
    return;
  }
  showStage('photo', ui.photo.width, ui.photo.height);
  const size = result.image?.width ? result.image : { width: ui.photo.width, height: ui.photo.height };
  showReading(result, size);
  const warnings = (result.warnings ?? []).join(' ');
  if (!result.faces?.length) {
    setStatus('No face found in this photo. Try one where the face is larger and well lit.', 'warn');
    return;
  }
  const n = result.faces.length;
  // The second look finds one face at most: two small faces are a group, which the first look keeps.
  const found = result.smallFace
    ? 'A small face found on a second look: check the box.'
    : `${n} face${n > 1 ? 's' : ''} found.`;
  setStatus(`${found} ${warnings}`.trim());
  wantRecommendations(true);
}

watchPhotoInputs(ui.photoInput, ui.stage, readPhoto);

// ---- recommendations --------------------------------------------------------------------------
const strategy = () => document.querySelector('input[name="strategy"]:checked')?.value ?? 'match';
const recKey = () => `${state.emotion}|${strategy()}`;

// immediate: a photo or a new strategy (asked for at once, even for the same emotion); otherwise
// a changed camera emotion, held to one refresh per REFRESH_MS (a flicker back to the emotion on
// screen before then asks for nothing).
function wantRecommendations(immediate) {
  if (!state.mood) return;
  if (immediate) {
    clearTimeout(state.recTimer);
    state.recTimer = null;
    fetchRecommendations(true);
  } else if (!state.recTimer) {
    const wait = Math.max(0, state.lastRecAt + REFRESH_MS - performance.now());
    state.recTimer = setTimeout(() => { state.recTimer = null; fetchRecommendations(false); }, wait);
  }
}

async function fetchRecommendations(force) {
  if (state.recBusy) {                 // one request at a time; the latest wish runs after it
    state.recAgain = true;
    state.recAgainForce ||= force;
    return;
  }
  const key = recKey();
  if (!force && key === state.recKey) return;
  state.recBusy = true;
  state.lastRecAt = performance.now();
  try {
    const recs = await api.recommend(state.mood, strategy(), listener, 10);
    state.recs = recs;
    state.recKey = key;
    showRecommendations(recs);
  } catch (err) {
    // The server's words say why (busy, no catalog); the camera asks again on its next change.
    setStatus(`Could not get music: ${err.message}`, 'error');
  } finally {
    state.recBusy = false;
    if (state.recAgain) {
      const again = state.recAgainForce;
      state.recAgain = state.recAgainForce = false;
      if (again) fetchRecommendations(true); else wantRecommendations(false);
    }
  }
}

function showRecommendations(recs) {
  const tracks = recs.tracks ?? [];
  const words = recs.mood?.description ? `for a ${recs.mood.description} mood` : 'for your mood';
  let note = `${tracks.length} tracks ${words} (${recs.strategy ?? strategy()}).`;
  if (recs.online === false) note += ' Offline: no covers or previews, the full list from the built-in catalog.';
  ui.note.textContent = note;
  ui.note.classList.toggle('offline', recs.online === false);
  state.listening.clear();
  renderTracks(ui.tracks, tracks, { onFeedback: sendFeedback, onPreview: { started: previewStarted, stopped: previewStopped } });
  plane.setTarget(recs.goal ?? null, tracks);
  ui.spotifyResult.textContent = '';
}

document.querySelectorAll('input[name="strategy"]').forEach((radio) => {
  radio.addEventListener('change', () => {
    try { localStorage.setItem('moodtunes.strategy', radio.value); } catch { /* not kept */ }
    wantRecommendations(true);
  });
});
let savedStrategy = null;
try { savedStrategy = localStorage.getItem('moodtunes.strategy'); } catch { /* storage blocked */ }
if (savedStrategy) {
  const radio = document.querySelector(`input[name="strategy"][value="${CSS.escape(savedStrategy)}"]`);
  if (radio) radio.checked = true;
}

// The list's context, sent with each event: the mood it was picked for and its strategy.
function listContext() {
  const recs = state.recs ?? {};
  const context = { strategy: recs.strategy ?? strategy() };
  if (recs.mood) context.mood = { valence: recs.mood.valence, arousal: recs.mood.arousal };
  return context;
}

async function sendFeedback(track, signal) {
  try {
    await api.feedback(listener, track.id, signal, randomId(), listContext());
  } catch (err) {
    setStatus(`Could not send your ${signal}: ${err.message}`, 'error');
    throw err;
  }
}

// Implicit feedback: how the camera's smoothed mood moved while a preview played. Only the
// change of two numbers leaves the page; no frame is kept.
function previewStarted(track) {
  if (state.source === 'camera' && state.faceMood) {
    state.listening.set(track.id, { start: state.faceMood, at: performance.now() });
  }
}

async function previewStopped(track) {
  const heard = state.listening.get(track.id);
  state.listening.delete(track.id);
  if (!heard || state.source !== 'camera' || !state.faceMood) return null;
  if (performance.now() - heard.at < REACTION_MIN_MS) return null;
  const clamp = (x) => Math.max(-2, Math.min(2, x));
  const reaction = {
    valence: clamp(state.faceMood.valence - heard.start.valence),
    arousal: clamp(state.faceMood.arousal - heard.start.arousal),
  };
  const context = listContext();
  try {
    await api.feedback(listener, track.id, 'reaction', randomId(), { ...context, reaction });
  } catch (err) {
    setStatus(`Could not send how you reacted: ${err.message}`, 'error');
    return null;
  }
  return describeReaction(reaction, context);
}

// Toward the list's goal (for "match", whose goal is the mood itself: a smile), as the server
// reads a reaction.
function describeReaction(reaction, context) {
  const mood = context.mood ?? { valence: 0, arousal: 0 };
  const goal = state.recs?.goal ?? mood;
  let dx = goal.valence - mood.valence, dy = goal.arousal - mood.arousal;
  const len = Math.hypot(dx, dy);
  if (len < 0.1) { dx = 1; dy = 0; } else { dx /= len; dy /= len; }
  const toward = reaction.valence * dx + reaction.arousal * dy;
  const smiled = reaction.valence > REACTION_STEP;
  if (toward > REACTION_STEP) return smiled ? 'You smiled more during this one.' : 'Your face moved the way this list aims during this one.';
  if (toward < -REACTION_STEP) return 'Your face moved away from this list’s aim during this one.';
  return 'Your face held steady during this one.';
}

// ---- Spotify ------------------------------------------------------------------------------------
ui.saveSpotify.addEventListener('click', async () => {
  const ids = (state.recs?.tracks ?? []).map((t) => t.id);
  if (!ids.length) { ui.spotifyResult.textContent = 'There are no tracks to save yet.'; return; }
  ui.saveSpotify.disabled = true;
  ui.spotifyResult.textContent = 'Saving…';
  try {
    const result = await api.savePlaylist(ids, state.recs.strategy ?? strategy());
    const a = document.createElement('a');
    a.href = result.url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = result.title || 'your playlist';
    const missing = result.missing?.length ?? result.missing ?? 0;
    ui.spotifyResult.replaceChildren('Saved ', a,
      `: ${result.added ?? ids.length} tracks${missing ? `, ${missing} not found on Spotify` : ''}.`);
  } catch (err) {
    ui.spotifyResult.textContent = `Could not save the playlist: ${err.message}`;
  } finally {
    ui.saveSpotify.disabled = false;
  }
});

// ---- start ------------------------------------------------------------------------------------
// One id per browser, kept in localStorage (a fresh one per visit where storage is blocked).
function listenerId() {
  const key = 'moodtunes.listener';
  try {
    let id = localStorage.getItem(key);
    if (!id) {
      id = randomId();
      localStorage.setItem(key, id);
    }
    return id;
  } catch {
    return randomId();
  }
}

// crypto.randomUUID needs a secure context; getRandomValues works on plain http too.
function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

api.health().then((h) => {
  ui.serverInfo.textContent = `Model ${h.model ?? '?'} · ${Number(h.tracks ?? 0).toLocaleString()} tracks in the catalog`;
}).catch((err) => setStatus(err.status === 0 ? err.message : `Server error: ${err.message}`, 'error'));

api.spotifyStatus().then((s) => { ui.spotify.hidden = !s?.logged_in; }).catch(() => { ui.spotify.hidden = true; });
