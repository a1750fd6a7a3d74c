// Word lists, per comment language: a comment with one of these words waits for a curator's review.
import { $, el } from '../dom.js';
import { t } from '../i18n.js';
import { api, ApiError, notice, clearErrors, showErrors } from './common.js';
import { moderation } from './moderation.js';

const words = { lists: {} };

function fillWords() {
  $('words-words').value = (words.lists[$('words-language').value] || []).join('\n');
}

export async function loadWords() {
  try {
    words.lists = (await api('GET', '/api/audience/words')).words || {};
  } catch {
    return;  // a 401 has shown the login; otherwise the editor stays as it is
  }
  const sel = $('words-language');
  for (const lang of Object.keys(words.lists)) {
    if (![...sel.options].some((o) => o.value === lang)) sel.append(el('option', { value: lang }, lang));
  }
  fillWords();
}

$('words-language').addEventListener('change', () => { clearErrors($('words-form')); fillWords(); });
$('words-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = $('words-form');
  const language = $('words-language').value;
  const list = $('words-words').value.split('\n').map((w) => w.trim()).filter((w) => w);
  try {
    const j = await api('POST', '/api/audience/words', { language, words: list });
    clearErrors(form);
    words.lists[language] = j.words;
    fillWords();
    notice(t('desk.words.saved', { n: j.words.length, lang: $('words-language').selectedOptions[0].textContent }));
    moderation();
  } catch (err) {
    if (err instanceof ApiError) showErrors(form, 'words', err);
    else throw err;
  }
});
