// The recommended tracks: cover, title, artist, a 30 s preview where the server found one,
// Spotify/Deezer links, why it was picked, and like / skip buttons that send feedback.

// onFeedback(track, signal) → Promise; rejects when the server refused it.
// onPreview (optional): {started(track), stopped(track) → Promise<string | null>}: the words
// stopped() resolves to (how the face reacted) are shown on the track.
export function renderTracks(list, tracks, { onFeedback, onPreview }) {
  stopPreviews(list);
  list.replaceChildren(...tracks.map((track) => trackItem(track, list, onFeedback, onPreview)));
}

function trackItem(track, list, onFeedback, onPreview) {
  const li = document.createElement('li');
  li.className = 'track';
  li.dataset.trackId = track.id;

  li.append(cover(track));

  const info = div('track-info');
  info.append(div('track-title', track.title), div('track-artist', track.artist));
  const meta = div('track-meta');
  const links = track.links ?? {};
  if (links.spotify) meta.append(link(links.spotify, 'Spotify', track));
  if (links.deezer) meta.append(link(links.deezer, 'Deezer', track));
  if (track.reason) {
    const why = document.createElement('details');
    why.className = 'track-why';
    const summary = document.createElement('summary');
    summary.textContent = 'Why this track';
    why.append(summary, div('', track.reason));
    meta.append(why);
  }
  li.append(info, meta);

  const actions = div('track-actions');
  if (track.preview) actions.append(previewButton(track, list, li, onPreview));
  actions.append(
    feedbackButton(track, 'like', '♥', `Like ${track.title}`, li, onFeedback),
    feedbackButton(track, 'skip', 'Skip', `Skip ${track.title}`, li, onFeedback),
  );
  li.append(actions);
  return li;
}

function cover(track) {
  if (track.cover) {
    const img = document.createElement('img');
    img.className = 'track-cover';
    img.src = track.cover;
    img.alt = '';
    img.loading = 'lazy';
    img.width = 56;
    img.height = 56;
    img.referrerPolicy = 'no-referrer';
    img.addEventListener('error', () => img.replaceWith(placeholder(track)), { once: true });
    return img;
  }
  return placeholder(track);
}

// Offline (or a cover that fails to load): a tile tinted by the track's own mood.
function placeholder(track) {
  const tile = div('track-cover placeholder');
  tile.setAttribute('aria-hidden', 'true');
  const hue = 220 - ((Number(track.valence) || 0) + 1) * 90;          // blue (low) → warm (high)
  const light = 30 + ((Number(track.arousal) || 0) + 1) * 8;
  tile.style.background = `linear-gradient(135deg, hsl(${hue} 55% ${light}%), hsl(${hue + 40} 45% ${light - 12}%))`;
  tile.textContent = '♪';
  return tile;
}

function previewButton(track, list, li, onPreview) {
  const audio = document.createElement('audio');
  audio.preload = 'none';
  audio.src = track.preview;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'icon-button play';
  const label = (playing) => {
    button.textContent = playing ? '❚❚' : '▶';
    button.setAttribute('aria-label', `${playing ? 'Pause' : 'Play'} 30 s preview of ${track.title}`);
    button.setAttribute('aria-pressed', String(playing));
  };
  label(false);
  button.addEventListener('click', () => {
    if (audio.paused) {
      stopPreviews(list);
      audio.play().catch(() => label(false));
    } else {
      audio.pause();
    }
  });
  audio.addEventListener('play', () => {
    label(true);
    onPreview?.started(track);
  });
  const stopped = async () => {
    label(false);
    const words = await onPreview?.stopped(track).catch(() => null);
    if (words) showReaction(li, words);
  };
  audio.addEventListener('pause', stopped);   // 'ended' pauses too: one report per play
  const wrap = document.createElement('span');
  wrap.append(audio, button);
  return wrap;
}

function showReaction(li, words) {
  let note = li.querySelector('.track-reaction');
  if (!note) {
    note = div('track-reaction');
    note.setAttribute('role', 'status');
    li.querySelector('.track-info')?.append(note);
  }
  note.textContent = words;
}

function stopPreviews(list) {
  for (const audio of list.querySelectorAll('audio')) audio.pause();
}

function link(href, text, track) {
  const a = document.createElement('a');
  a.className = 'chip-link';
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  a.textContent = text;
  a.setAttribute('aria-label', `${track.title} on ${text} (opens a new tab)`);
  return a;
}

function feedbackButton(track, signal, text, label, li, onFeedback) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = `icon-button ${signal}`;
  button.textContent = text;
  button.dataset.signal = signal;
  button.setAttribute('aria-label', label);
  button.setAttribute('aria-pressed', 'false');
  button.addEventListener('click', async () => {
    if (button.getAttribute('aria-pressed') === 'true') return;  // sent once per track
    button.disabled = true;
    try {
      await onFeedback(track, signal);
      button.setAttribute('aria-pressed', 'true');
      li.classList.add(signal === 'like' ? 'liked' : 'skipped');
    } catch {
      // The caller reported the error; the button stays usable for another try.
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function div(className, text) {
  const node = document.createElement('div');
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
