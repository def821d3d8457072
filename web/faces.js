// Faces on screen: boxes and labels drawn on the overlay canvas over the video or photo, and one
// panel of seven probability bars per face (reused between frames, so the bars glide).
import { EMOTIONS, colorOf, percent } from './emotions.js';

// Draws `faces` (boxes in the source image's pixels, `imageW` x `imageH`) on `canvas`, which
// covers the displayed media exactly. `mirrored`: the video is shown as a mirror image.
export function drawBoxes(canvas, faces, imageW, imageH, { mirrored = false } = {}) {
  const rect = canvas.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(rect.width * dpr));
  const height = Math.max(1, Math.round(rect.height * dpr));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, width, height);
  if (!faces?.length || !imageW || !imageH) return;
  const sx = width / imageW;
  const sy = height / imageH;
  const font = Math.round(13 * dpr);
  ctx.font = `600 ${font}px system-ui, sans-serif`;
  ctx.textBaseline = 'middle';
  faces.forEach((face, i) => {
    const { x, y, w, h } = face.box;
    const left = (mirrored ? imageW - x - w : x) * sx;
    const top = y * sy;
    const color = colorOf(face.emotion);
    ctx.lineWidth = 2.5 * dpr;
    ctx.strokeStyle = color;
    ctx.beginPath();
    ctx.roundRect(left, top, w * sx, h * sy, 8 * dpr);
    ctx.stroke();

    const probs = face.smoothed ?? face.probabilities;
    const label = `${faceName(face, i)} · ${face.emotion} ${percent(probs?.[face.emotion])}`;
    const padX = 8 * dpr;
    const chipH = font + 10 * dpr;
    const chipW = ctx.measureText(label).width + padX * 2;
    // Above the box, or inside its top edge when the box touches the frame's top.
    const chipY = top - chipH - 4 * dpr >= 0 ? top - chipH - 4 * dpr : top + 4 * dpr;
    const chipX = Math.min(Math.max(0, left), width - chipW);
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.roundRect(chipX, chipY, chipW, chipH, chipH / 2);
    ctx.fill();
    ctx.fillStyle = '#15181d';
    ctx.fillText(label, chipX + padX, chipY + chipH / 2);
  });
}

export function clearBoxes(canvas) {
  canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height);
}

// A stream's face keeps its tracker id; a photo's faces are numbered.
const faceName = (face, i) => `Face ${face.id ?? i + 1}`;

// The per-face panels inside `container`.
export class FacePanels {
  constructor(container) {
    this.container = container;
    this.panels = new Map();  // key → {root, title, rows: {emotion: {fill, value}}}
  }

  update(faces) {
    const seen = new Set();
    (faces ?? []).forEach((face, i) => {
      const key = String(face.id ?? `photo-${i}`);
      seen.add(key);
      let panel = this.panels.get(key);
      if (!panel) {
        panel = this.#create();
        this.panels.set(key, panel);
      }
      this.container.append(panel.root);  // keeps the server's order
      this.#fill(panel, face, i);
    });
    for (const [key, panel] of this.panels) {
      if (!seen.has(key)) {
        panel.root.remove();
        this.panels.delete(key);
      }
    }
  }

  clear() { this.update([]); }

  #create() {
    const root = document.createElement('section');
    root.className = 'face-panel';
    const title = document.createElement('h3');
    title.className = 'face-title';
    const list = document.createElement('dl');
    list.className = 'bars';
    const rows = {};
    for (const emotion of EMOTIONS) {
      const name = document.createElement('dt');
      name.textContent = emotion;
      const cell = document.createElement('dd');
      const track = document.createElement('span');
      track.className = 'bar';
      const fill = document.createElement('span');
      fill.className = 'bar-fill';
      fill.style.backgroundColor = colorOf(emotion);
      track.append(fill);
      const value = document.createElement('span');
      value.className = 'bar-value';
      cell.append(track, value);
      list.append(name, cell);
      rows[emotion] = { name, fill, value };
    }
    root.append(title, list);
    return { root, title, rows };
  }

  #fill(panel, face, i) {
    const probs = face.smoothed ?? face.probabilities ?? {};
    panel.title.textContent = `${faceName(face, i)}: ${face.emotion}`;
    panel.title.style.setProperty('--dot', colorOf(face.emotion));
    for (const emotion of EMOTIONS) {
      const row = panel.rows[emotion];
      const p = probs[emotion] ?? 0;
      row.fill.style.width = `${(p * 100).toFixed(1)}%`;
      row.value.textContent = percent(p);
      row.name.classList.toggle('top', emotion === face.emotion);
    }
  }
}
