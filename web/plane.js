// The valence–arousal plane (SVG): how pleasant (x) and how energetic (y) the mood is, both in
// [-1, 1]. Shows the current mood, the strategy's target and the recommended tracks as dots.
import { colorOf } from './emotions.js';

const NS = 'http://www.w3.org/2000/svg';
const SIZE = 300;          // viewBox side
const PAD = 38;            // room for the axis labels
const R = (SIZE - 2 * PAD) / 2;
const C = SIZE / 2;

const el = (name, attrs = {}, text) => {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
};
const px = (v) => C + clamp(v) * R;
const py = (a) => C - clamp(a) * R;
const clamp = (v) => Math.max(-1, Math.min(1, Number(v) || 0));
const signed = (v) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;

export class MoodPlane {
  constructor(container, caption) {
    this.caption = caption;
    this.svg = el('svg', { viewBox: `0 0 ${SIZE} ${SIZE}`, class: 'plane-svg', role: 'img' });
    this.title = el('title', {}, 'Mood plane: no mood read yet');
    this.svg.append(this.title);
    this.#drawAxes();
    this.tracks = el('g', { class: 'plane-tracks' });
    this.link = el('line', { class: 'plane-link', visibility: 'hidden' });
    this.goal = el('g', { class: 'plane-goal', visibility: 'hidden' });
    this.goalText = el('text', { y: 4 }, 'target');
    this.goal.append(el('circle', { r: 9 }), this.goalText);
    this.point = el('g', { class: 'plane-point', visibility: 'hidden' });
    this.pointDot = el('circle', { r: 8 });
    this.point.append(el('circle', { r: 16, class: 'halo' }), this.pointDot);
    this.svg.append(this.tracks, this.link, this.goal, this.point);
    container.append(this.svg);
    this.mood = null;
    this.target = null;
  }

  #drawAxes() {
    const lo = PAD, hi = SIZE - PAD;
    this.svg.append(
      el('rect', { x: lo, y: lo, width: hi - lo, height: hi - lo, rx: 12, class: 'plane-bg' }),
      el('line', { x1: lo, y1: C, x2: hi, y2: C, class: 'plane-axis' }),
      el('line', { x1: C, y1: lo, x2: C, y2: hi, class: 'plane-axis' }),
      el('text', { x: hi, y: hi + 15, 'text-anchor': 'end', class: 'plane-label' }, 'pleasant →'),
      el('text', { x: lo, y: hi + 15, class: 'plane-label' }, '← unpleasant'),
      el('text', { x: C, y: lo - 7, 'text-anchor': 'middle', class: 'plane-label' }, 'energetic'),
      el('text', { x: C, y: hi + 15, 'text-anchor': 'middle', class: 'plane-label' }, 'calm'),
      el('text', { x: C, y: SIZE - 4, 'text-anchor': 'middle', class: 'plane-label axis-name' }, 'valence'),
      el('text', { x: 14, y: C, 'text-anchor': 'middle', class: 'plane-label axis-name',
        transform: `rotate(-90 14 ${C})` }, 'arousal'),
    );
    // Quadrant words, faint, so the plane reads at a glance.
    const q = [['tense', -0.55, 0.8], ['excited', 0.55, 0.8], ['sad', -0.55, -0.85], ['relaxed', 0.55, -0.85]];
    for (const [word, v, a] of q) {
      this.svg.append(el('text', { x: px(v), y: py(a), 'text-anchor': 'middle', class: 'plane-quadrant' }, word));
    }
  }

  // mood: {valence, arousal, description} | null; emotion colours the point.
  setMood(mood, emotion) {
    this.mood = mood ?? null;
    if (!mood) {
      this.point.setAttribute('visibility', 'hidden');
    } else {
      this.point.setAttribute('visibility', 'visible');
      // A CSS transform (not x/y attributes) so the point glides between readings.
      this.point.style.transform = `translate(${px(mood.valence)}px, ${py(mood.arousal)}px)`;
      this.pointDot.style.fill = colorOf(emotion);
    }
    this.#updateLink();
    this.#describe();
  }

  // target: {valence, arousal} the strategy aims at | null; tracks: [{valence, arousal}].
  setTarget(target, tracks = []) {
    this.target = target ?? null;
    if (!target) {
      this.goal.setAttribute('visibility', 'hidden');
    } else {
      this.goal.setAttribute('visibility', 'visible');
      this.goal.style.transform = `translate(${px(target.valence)}px, ${py(target.arousal)}px)`;
      // The word on the side of the marker that has room.
      const left = target.valence > 0.3;
      this.goalText.setAttribute('x', left ? -14 : 14);
      this.goalText.setAttribute('text-anchor', left ? 'end' : 'start');
    }
    this.tracks.replaceChildren(...tracks.map((t) =>
      el('circle', { cx: px(t.valence), cy: py(t.arousal), r: 3.5 })));
    this.#updateLink();
    this.#describe();
  }

  #updateLink() {
    const show = this.mood && this.target;
    this.link.setAttribute('visibility', show ? 'visible' : 'hidden');
    if (!show) return;
    this.link.setAttribute('x1', px(this.mood.valence));
    this.link.setAttribute('y1', py(this.mood.arousal));
    this.link.setAttribute('x2', px(this.target.valence));
    this.link.setAttribute('y2', py(this.target.arousal));
  }

  #describe() {
    let text = 'Valence (how pleasant) and arousal (how energetic) of your mood.';
    if (this.mood) {
      text = `Your mood: ${this.mood.description ?? ''} (valence ${signed(this.mood.valence)}, arousal ${signed(this.mood.arousal)})`;
      if (this.target) text += `; the music aims at valence ${signed(this.target.valence)}, arousal ${signed(this.target.arousal)}`;
      text += '.';
    }
    this.title.textContent = text;
    this.caption.textContent = text;
  }
}
