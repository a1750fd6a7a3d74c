// The watch page's "Share" line: the event's short link (/e/<number>, easy to read aloud on the phone) with
// a copy button. The server names the link in the page's <head> (<link rel="shortlink">, with its public
// address, server.public_url); without it, this page's own address.
import { $ } from './dom.js';
import * as i18n from './i18n.js';

const m = location.pathname.match(/^\/watch\/(\d+)/);
const line = $('share');
if (m && line) {
  const tag = document.querySelector('link[rel="shortlink"]');
  const url = tag ? tag.href : `${location.origin}/e/${m[1]}`;
  const link = $('share-link');
  const done = $('share-done');
  link.href = url;
  link.textContent = url.replace(/^https?:\/\//, '');
  line.hidden = false;
  $('share-copy').addEventListener('click', async () => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(url);
      ok = true;
    } catch {
      // No clipboard API (a plain-http address): copy the selected link the old way.
      const range = document.createRange();
      range.selectNodeContents(link);
      const sel = getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      try { ok = document.execCommand('copy'); } catch { ok = false; }
    }
    done.textContent = i18n.t(ok ? 'watch.share.copied' : 'watch.share.failed');
  });
}
