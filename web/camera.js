// The live camera: getUserMedia, then a loop that draws the video to a 640x480 canvas, sends it
// as a JPEG to the server's stream and hands each reading on. One frame in flight at a time;
// an expired stream (404) is replaced; a full server (503) is waited out per its Retry-After.
import * as api from './api.js';

const MAX_W = 640, MAX_H = 480;
const MIN_FRAME_MS = 100;        // at most ~10 frames a second: the server is shared
const ERROR_BACKOFF_MS = 2000;

const sleep = (ms, signal) => new Promise((resolve) => {
  const id = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(id); resolve(); }, { once: true });
});

export class Camera {
  // onReading(reading, {width, height}); onStatus(message, kind) with kind 'info' | 'error' | ''.
  constructor(video, { onReading, onStatus }) {
    this.video = video;
    this.onReading = onReading;
    this.onStatus = onStatus;
    this.canvas = document.createElement('canvas');
    this.media = null;
    this.streamId = null;
    this.abort = null;
  }

  get running() { return this.media !== null; }

  static supported() { return Boolean(navigator.mediaDevices?.getUserMedia); }

  // Resolves once the video plays; throws with a message for the person on failure.
  async start() {
    if (this.running) return;
    try {
      this.media = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: MAX_W }, height: { ideal: MAX_H }, facingMode: 'user' },
        audio: false,
      });
    } catch (err) {
      this.media = null;
      throw new Error(cameraMessage(err));
    }
    this.video.srcObject = this.media;
    await this.video.play().catch(() => {});
    this.abort = new AbortController();
    this.#loop(this.abort.signal);
  }

  stop() {
    this.abort?.abort();
    this.abort = null;
    this.media?.getTracks().forEach((t) => t.stop());
    this.media = null;
    this.video.srcObject = null;
    this.releaseStream();
  }

  // Frees the server's stream slot (also from pagehide: the request outlives the page).
  releaseStream() {
    if (!this.streamId) return;
    api.deleteStream(this.streamId).catch(() => {});
    this.streamId = null;
  }

  async #loop(signal) {
    const started = performance.now();
    while (!signal.aborted) {
      const frameStart = performance.now();
      try {
        if (!this.streamId) this.streamId = (await api.createStream()).stream;
        const size = this.#frameSize();
        const jpeg = await this.#grab(size);
        if (signal.aborted) break;
        if (jpeg) {
          const reading = await api.sendFrame(this.streamId, jpeg, (frameStart - started) / 1000, signal);
          if (signal.aborted) break;
          this.onReading(reading, size);
        }
      } catch (err) {
        if (signal.aborted || err.name === 'AbortError') break;
        if (err.status === 404) {          // the stream expired (idle): open a new one at once
          this.streamId = null;
          continue;
        }
        if (err.status === 503) {
          const wait = Math.max(1, err.retryAfterS || 2);
          this.onStatus(`The server is busy; trying again in ${Math.ceil(wait)} s.`, 'error');
          await sleep(wait * 1000, signal);
          continue;
        }
        this.onStatus(err.status === 0 ? err.message : `Server error: ${err.message}`, 'error');
        await sleep(ERROR_BACKOFF_MS, signal);
        continue;
      }
      await sleep(MIN_FRAME_MS - (performance.now() - frameStart), signal);
    }
  }

  // The video scaled to fit 640x480 (a 640x480 camera: exactly that).
  #frameSize() {
    const vw = this.video.videoWidth || MAX_W;
    const vh = this.video.videoHeight || MAX_H;
    const scale = Math.min(MAX_W / vw, MAX_H / vh);
    return { width: Math.round(vw * scale), height: Math.round(vh * scale) };
  }

  async #grab({ width, height }) {
    if (this.video.readyState < 2) {        // no frame yet
      await sleep(50);
      return null;
    }
    if (this.canvas.width !== width) this.canvas.width = width;
    if (this.canvas.height !== height) this.canvas.height = height;
    this.canvas.getContext('2d').drawImage(this.video, 0, 0, width, height);
    return new Promise((resolve) => this.canvas.toBlob(resolve, 'image/jpeg', 0.8));
  }
}

function cameraMessage(err) {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera access was denied. Allow the camera for this site in your browser, or upload a photo instead.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found. You can upload a photo instead.';
    case 'NotReadableError':
      return 'The camera is in use by another app. Close it and try again, or upload a photo.';
    default:
      return `The camera could not start (${err?.message || err}). You can upload a photo instead.`;
  }
}
