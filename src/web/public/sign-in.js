// Inside the Teams client, the tab signs in with its own single sign-on token; elsewhere nothing happens here.
(async () => {
  const teams = window.microsoftTeams;
  if (!teams || window.parent === window) return;
  try {
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
