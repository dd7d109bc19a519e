// Inside the Teams client (a framed tab), the tab signs in with its own single sign-on token. Elsewhere nothing
// happens here, and the Teams client library is not even loaded.
(async () => {
  if (window.parent === window) return;
  try {
    await new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = '/auth/teams.js';
      script.onload = resolve;
      script.onerror = () => reject(new Error('the Teams client library did not load'));
      document.head.append(script);
    });
    const teams = window.microsoftTeams;
    await teams.app.initialize();
    const token = await teams.authentication.getAuthToken();
    const answer = await fetch('/auth/teams-sso', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    if (answer.ok) location.replace(document.body.dataset.next || '/dashboard');
  } catch (error) {
    console.warn('Teams sign-in failed', error);
  }
})();
