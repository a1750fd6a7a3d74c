// Page settings every sreda page shares: larger text, high contrast and the language, remembered in this
// browser (localStorage). Include it in <head> right after i18n.js, so the classes are on <html> before the
// first paint; a page that has an element with id="settings" gets the switches rendered into it.
'use strict';

(function () {
  const KEYS = { large: 'sreda.large-text', contrast: 'sreda.high-contrast' };
  const CLASSES = { large: 'large-text', contrast: 'high-contrast' };

  function read(name) {
    try { return localStorage.getItem(KEYS[name]) === '1'; } catch { return false; }
  }

  function set(name, on) {
    document.documentElement.classList.toggle(CLASSES[name], on);
    try { localStorage.setItem(KEYS[name], on ? '1' : '0'); } catch { /* private mode: this page only */ }
  }

  for (const name of Object.keys(KEYS)) document.documentElement.classList.toggle(CLASSES[name], read(name));

  function toggle(name, labelKey) {
    const b = document.createElement('button');
    b.type = 'button';
    b.id = `setting-${name}`;
    b.className = 'switch';
    b.dataset.i18n = labelKey;
    b.setAttribute('aria-pressed', String(read(name)));
    b.addEventListener('click', () => {
      const on = b.getAttribute('aria-pressed') !== 'true';
      b.setAttribute('aria-pressed', String(on));
      set(name, on);
    });
    return b;
  }

  function render(host) {
    const i18n = window.sredaI18n;
    host.classList.add('settings');
    host.setAttribute('role', 'group');
    host.dataset.i18nAttr = 'aria-label:settings.label';
    const langs = document.createElement('span');
    langs.className = 'langs';
    langs.setAttribute('role', 'group');
    langs.dataset.i18nAttr = 'aria-label:settings.language';
    for (const l of i18n.langs) {
      const b = document.createElement('button');
      b.type = 'button';
      b.id = `setting-lang-${l}`;
      b.className = 'switch';
      b.lang = l;
      b.textContent = i18n.strings[l]['lang.name'];
      b.setAttribute('aria-pressed', String(l === i18n.lang()));
      b.addEventListener('click', () => i18n.setLang(l));
      langs.append(b);
    }
    i18n.onChange((lang) => {
      for (const b of langs.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.lang === lang));
    });
    host.replaceChildren(toggle('large', 'settings.large'), toggle('contrast', 'settings.contrast'), langs);
    i18n.apply(host);
  }

  function init() {
    const host = document.getElementById('settings');
    if (host && window.sredaI18n) render(host);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();

  window.sredaSettings = { set, read };
})();
