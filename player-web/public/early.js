// The remembered larger text and high contrast, on <html> before the first paint: a classic script (not a
// module, which would run after it) in each page's <head>. settings.js renders the switches that change them.
'use strict';

(function () {
  const CLASSES = { 'sreda.large-text': 'large-text', 'sreda.high-contrast': 'high-contrast' };
  for (const [key, name] of Object.entries(CLASSES)) {
    let on = false;
    try { on = localStorage.getItem(key) === '1'; } catch { /* private mode */ }
    document.documentElement.classList.toggle(name, on);
  }
})();
