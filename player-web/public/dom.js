// Small DOM helpers every page shares. Text goes in as text only: el()'s children are nodes or strings
// (strings become text nodes), never HTML.

export const $ = (id) => document.getElementById(id);

/** An element: `props` sets properties (or attributes the element has no property for), `class` the class
 *  name, on<event> a listener; null, undefined and false children are left out. */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return e;
}

/** localStorage, which private modes may refuse: read() gives null then, write() and forget() do nothing. */
export const remembered = {
  read(key) {
    try { return localStorage.getItem(key); } catch { return null; }
  },
  write(key, value) {
    try { localStorage.setItem(key, value); } catch { /* private mode: this page only */ }
  },
  forget(key) {
    try { localStorage.removeItem(key); } catch { /* private mode */ }
  },
};
