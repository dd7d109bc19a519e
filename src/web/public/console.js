// The console page: typed commands go to /console/api/command; card buttons (Action.Execute) go to
// /console/api/action, whose answer replaces the card in place, as Teams does with a Universal Action's answer.
(() => {
  const AC = window.AdaptiveCards;
  const transcript = document.getElementById('transcript');
  const composer = document.getElementById('composer');
  const line = document.getElementById('line');
  const CARD = 'application/vnd.microsoft.card.adaptive';
  /** How often, and how long, a card whose vendor call is still queued is asked for again. */
  const PENDING_POLL_MS = 1000;
  const PENDING_POLL_LIMIT = 120;

  const hostConfig = new AC.HostConfig({
    fontFamily: 'system-ui, -apple-system, "Segoe UI", sans-serif',
    supportsInteractivity: true,
    actions: {
      actionsOrientation: 'horizontal',
      buttonSpacing: 8,
      maxActions: 10,
      showCard: { actionMode: 'inline' },
    },
  });

  function message(kind, text) {
    const item = document.createElement('li');
    item.className = `message ${kind}`;
    if (text !== undefined) item.textContent = text;
    transcript.append(item);
    item.scrollIntoView({ block: 'end' });
    return item;
  }

  function failure(slot, text) {
    const note = document.createElement('p');
    note.className = 'failure';
    note.setAttribute('role', 'alert');
    note.textContent = text;
    slot.append(note);
  }

  /** Renders a card into its message, wiring its buttons. */
  function show(slot, card) {
    const adaptive = new AC.AdaptiveCard();
    adaptive.hostConfig = hostConfig;
    adaptive.onExecuteAction = (action) => {
      if (action instanceof AC.ExecuteAction) void act(slot, action.verb, action.data ?? {}, 0);
      else if (action instanceof AC.OpenUrlAction && action.url)
        window.open(action.url, '_blank', 'noopener');
    };
    adaptive.parse(card);
    const rendered = adaptive.render();
    slot.replaceChildren(rendered ?? document.createTextNode('(This card cannot be shown.)'));
    slot.dataset.cardVersion = String(Number(slot.dataset.cardVersion ?? '0') + 1);
  }

  async function post(path, body) {
    const answer = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(body),
    });
    if (answer.status === 401) {
      location.assign('/auth/sign-in?next=/console');
      throw new Error('Signed out.');
    }
    return answer.json().catch(() => ({}));
  }

  /** A card that still says a vendor call is queued or running. */
  function pending(card) {
    const text = JSON.stringify(card);
    return text.includes('(queued)') || text.includes('(running)');
  }

  async function act(slot, verb, data, attempt) {
    slot.classList.add('busy');
    slot.setAttribute('aria-busy', 'true');
    try {
      const answer = await post('/console/api/action', { verb, data });
      if (answer.type === CARD) {
        show(slot, answer.value);
        // Asking again with the same button answers with the latest card and never acts twice.
        if (verb === 'run' && pending(answer.value) && attempt < PENDING_POLL_LIMIT) {
          setTimeout(() => void act(slot, verb, data, attempt + 1), PENDING_POLL_MS);
        }
      } else {
        failure(slot, answer.value?.message ?? answer.error?.message ?? 'Something went wrong.');
      }
    } catch (error) {
      failure(slot, `The console could not reach Seatkeeper: ${error.message}`);
    } finally {
      slot.classList.remove('busy');
      slot.removeAttribute('aria-busy');
    }
  }

  /** Sends a typed line; `echo` shows it as the person's message first. */
  async function send(text, echo) {
    if (echo) message('mine', text);
    const slot = message('bot');
    slot.classList.add('busy');
    try {
      const answer = await post('/console/api/command', { text });
      if (answer.card) show(slot, answer.card);
      else failure(slot, answer.error?.message ?? 'Something went wrong.');
    } catch (error) {
      failure(slot, `The console could not reach Seatkeeper: ${error.message}`);
    } finally {
      slot.classList.remove('busy');
      slot.scrollIntoView({ block: 'end' });
    }
  }

  composer.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = line.value.trim();
    if (!text) return;
    line.value = '';
    void send(text, true);
  });

  // The page opens with what the person can ask, as the bot greets in a new chat.
  void send('help', false);
  line.focus();
})();
