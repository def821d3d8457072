// A photo instead of the camera: from the file input or dropped on the stage. Drawn on a canvas
// (no blob: URL, which a strict CSP may refuse) and sent whole to /api/analyze.
import * as api from './api.js';

const TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/bmp'];

// onPhoto(file) is called with each chosen or dropped image.
export function watchPhotoInputs(input, dropZone, onPhoto) {
  input.addEventListener('change', () => {
    const [file] = input.files;
    if (file) onPhoto(file);
    input.value = '';                 // choosing the same file again reads it again
  });
  const over = (event) => {
    if (![...(event.dataTransfer?.types ?? [])].includes('Files')) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    dropZone.classList.add('dragging');
  };
  dropZone.addEventListener('dragenter', over);
  dropZone.addEventListener('dragover', over);
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dragging'));
  dropZone.addEventListener('drop', (event) => {
    event.preventDefault();
    dropZone.classList.remove('dragging');
    const file = [...(event.dataTransfer?.files ?? [])].find((f) => f.type.startsWith('image/'));
    if (file) onPhoto(file);
  });
}

// Draws `file` on `canvas` and reads it; resolves to the server's analysis. With no face found at
// the usual sizes, the server looks once more for a lone small face (a person far away), which its
// default leaves out because text and texture can look like one; such a reading comes back with
// smallFace: true.
export async function analyzePhoto(file, canvas) {
  if (!TYPES.includes(file.type)) {
    throw new Error(`${file.name || 'This file'} is not a JPEG, PNG, WebP or BMP image.`);
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);       // applies EXIF orientation, as the server does
  } catch {
    throw new Error(`${file.name || 'This file'} could not be read as an image.`);
  }
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext('2d').drawImage(bitmap, 0, 0);
  bitmap.close();
  const result = await api.analyze(file, file.type);
  return result.second_look ? { ...result, smallFace: true } : result;
}
