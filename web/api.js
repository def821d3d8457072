// The moodtunes server's HTTP API (same origin): one function per route, JSON in and out.
// Failures throw ApiError, which carries the HTTP status, the server's {"error"} message and,
// for 503, how long the server asked us to wait (Retry-After).

export class ApiError extends Error {
  constructor(status, message, retryAfterS = 0) {
    super(message);
    this.name = 'ApiError';
    this.status = status;        // 0: the request never got an answer (network down, server gone)
    this.retryAfterS = retryAfterS;
  }
}

const JSON_TYPE = 'application/json';

async function request(method, path, { body, type, keepalive = false, signal } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      body,
      headers: type ? { 'Content-Type': type } : undefined,
      keepalive,
      signal,
      cache: 'no-store',
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'The moodtunes server cannot be reached.');
  }
  if (response.status === 204) return null;
  let data = null;
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    const retry = Number.parseFloat(response.headers.get('Retry-After') ?? '') || 0;
    const message = data?.error ?? `The server answered ${response.status} ${response.statusText}.`;
    throw new ApiError(response.status, message, retry);
  }
  return data;
}

const postJson = (path, payload, options = {}) =>
  request('POST', path, { body: JSON.stringify(payload), type: JSON_TYPE, ...options });

export const health = () => request('GET', '/api/health');

// The image's own bytes; `type` is its MIME type (jpeg, png, webp or bmp). Where no face is found
// at the usual sizes, the server looks again for a lone face under ~80 px (which by default counts
// only in a group), in the same request: second_look in the answer says the faces came from it.
export const analyze = (blob, type) => request('POST', '/api/analyze?small_faces=auto', { body: blob, type });

export const createStream = () => request('POST', '/api/streams');

export const sendFrame = (streamId, jpeg, seconds, signal) =>
  request('POST', `/api/streams/${encodeURIComponent(streamId)}/frames?t=${seconds.toFixed(3)}`,
    { body: jpeg, type: 'image/jpeg', signal });

// keepalive: the request outlives the page when sent from pagehide.
export const deleteStream = (streamId) =>
  request('DELETE', `/api/streams/${encodeURIComponent(streamId)}`, { keepalive: true });

// `mood`: {probabilities} | {emotion} | {valence, arousal}.
export const recommend = (mood, strategy, listener, n = 10) =>
  postJson('/api/recommend', { ...mood, strategy, n, listener });

// context: {mood: {valence, arousal}, strategy} of the list the track came from, and for
// signal 'reaction', reaction: how the face's mood moved while the track played.
export const feedback = (listener, trackId, signal, eventId, context = {}) =>
  postJson('/api/feedback', { listener, track_id: trackId, signal, event_id: eventId, ...context });

export const spotifyStatus = () => request('GET', '/api/spotify');

export const savePlaylist = (trackIds, strategy) =>
  postJson('/api/playlist', { track_ids: trackIds, strategy });
