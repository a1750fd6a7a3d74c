// Page settings every sreda page shares: larger text, high contrast and the language, remembered in this
// browser (localStorage). early.js puts the remembered classes on <html> before the first paint; this module
// renders the switches into the page's element with id="settings".
import { el, remembered } from './dom.js';
import * as i18n from './i18n.js';

const KEYS = { large: 'sreda.large-text', contrast: 'sreda.high-contrast' };  // as early.js reads them
const CLASSES = { large: 'large-text', contrast: 'high-contrast' };

const read = (name) => document.documentElement.classList.contains(CLASSES[name]);

function set(name, on) {
  document.documentElement.classList.toggle(CLASSES[name], on);
  remembered.write(KEYS[name], on ? '1' : '0');
}

function toggle(name, labelKey) {
  const b = el('button', { type: 'button', id: `setting-${name}`, class: 'switch', 'aria-pressed': String(read(name)) });
  b.dataset.i18n = labelKey;
  b.addEventListener('click', () => {
    const on = b.getAttribute('aria-pressed') !== 'true';
    b.setAttribute('aria-pressed', String(on));
    set(name, on);
  });
  return b;
}

function render(host) {
  host.classList.add('settings');
  host.setAttribute('role', 'group');
  host.dataset.i18nAttr = 'aria-label:settings.label';
  const langs = el('span', { class: 'langs', role: 'group' });
  langs.dataset.i18nAttr = 'aria-label:settings.language';
  for (const l of i18n.langs) {
    langs.append(el('button', { type: 'button', id: `setting-lang-${l}`, class: 'switch', lang: l,
      'aria-pressed': String(l === i18n.lang()), onclick: () => i18n.setLang(l) }, i18n.strings[l]['lang.name']));
  }
  i18n.onChange((code) => {
    for (const b of langs.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.lang === code));
  });
  host.replaceChildren(toggle('large', 'settings.large'), toggle('contrast', 'settings.contrast'), langs);
  i18n.apply(host);
}

const host = document.getElementById('settings');
if (host) render(host);
