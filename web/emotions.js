// The seven emotion classes in the server's order, with the words and colours the page shows.

export const EMOTIONS = ['angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise'];

export const COLORS = {
  angry: '#ef6b61',
  disgust: '#9cc25a',
  fear: '#a98ae6',
  happy: '#f5c04e',
  neutral: '#a3adb8',
  sad: '#6c9cf2',
  surprise: '#f39a57',
};

export const colorOf = (emotion) => COLORS[emotion] ?? '#a3adb8';

export const percent = (p) => `${Math.round((p ?? 0) * 100)}%`;
