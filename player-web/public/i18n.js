// The pages' words: one table per language, each in its own file i18n/<code>.js (Russian is the default:
// a key another table lacks is shown in Russian; a key no table has shows itself, easy to spot).
// Adding a language: copy i18n/ru.js to i18n/<code>.js, translate it, and add its code to LANGS and its import below.
// Use: t('key', {name: value}) — "{name}" in a string is replaced. Elements with data-i18n="key" get their
// text, data-i18n-attr="attr:key[,attr:key]" their attributes (apply()). Dates and numbers: date(), number()
// (Intl, in the page's language; a language Intl does not know falls back along its file's `locales`).
// The language: the one chosen on the page (remembered in localStorage by setLang), else the browser's first
// of LANGS, else Russian.

import * as ru from './i18n/ru.js';
import * as en from './i18n/en.js';
import * as tt from './i18n/tt.js';

const LANGS = ['ru', 'en', 'tt'];  // in the order the switches show them
const STORE_KEY = 'sreda.lang';

// Static imports, not a top-level await of import(): WebKit (WebKitGTK 2.50, tests/web/engines.test.mjs) often
// never ran the watch page's module script when another one (settings.js) shared this module's await.
const files = [ru, en, tt];  // in the order of LANGS
export const strings = Object.fromEntries(LANGS.map((code, i) => [code, files[i].default]));
const LOCALES = Object.fromEntries(LANGS.map((code, i) => [code, files[i].locales]));
export const langs = LANGS;

function stored() {
  try { return localStorage.getItem(STORE_KEY); } catch { return null; }
}

function fromBrowser() {
  for (const l of navigator.languages || [navigator.language || '']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'ru';
}

let current = LANGS.includes(stored()) ? stored() : fromBrowser();
const listeners = [];

export const lang = () => current;
/** The current language's Intl locales, best first (e.g. ['tt-RU', 'ru-RU']). */
export const locales = () => LOCALES[current];

function fill(s, vars) {
  return vars ? s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m)) : s;
}

export function t(key, vars) {
  return fill(strings[current][key] ?? strings.ru[key] ?? key, vars);
}

/** The current language's own string for `key`, or undefined (no Russian fallback): where the server's
 *  own words are the better fallback (its error messages, the stream's health). */
export function own(key, vars) {
  const s = strings[current][key];
  return typeof s === 'string' ? fill(s, vars) : undefined;
}

/** A date (a Date, an RFC 3339 string or milliseconds) with Intl.DateTimeFormat options. */
export function date(value, options) {
  return new Intl.DateTimeFormat(locales(), options).format(value instanceof Date ? value : new Date(value));
}

/** A number with Intl.NumberFormat options. */
export function number(value, options) {
  return new Intl.NumberFormat(locales(), options).format(value);
}

/** A duration in milliseconds as a clock, "m:ss" or "h:mm:ss" (the same in every language). Whole seconds
 *  by `round` (Math.round for a length; Math.floor for time that counts up). */
export function clock(ms, round = Math.round) {
  const s = Math.max(0, round(ms / 1000));
  const p = (n) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  return h ? `${h}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}` : `${Math.floor(s / 60)}:${p(s % 60)}`;
}

export function apply(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(',')) {
      const [attr, key] = pair.split(':');
      el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

export function setLang(code) {
  if (!LANGS.includes(code) || code === current) return;
  current = code;
  try { localStorage.setItem(STORE_KEY, code); } catch { /* private mode: this page only */ }
  apply();
  for (const fn of listeners) fn(code);
}

export function onChange(fn) { listeners.push(fn); }

document.documentElement.lang = current;
