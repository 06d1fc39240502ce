// login.js - the login page: posts the form as JSON (the page's CSP allows
// no form submission) and goes back where the user came from, a path on
// this server only.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const next = new URLSearchParams(location.search).get('next') || '/';
  const target = next.startsWith('/') && !next.startsWith('//') ? next : '/';
  $('#login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('#login-error').textContent = '';
    try {
      await api('POST', '/api/v1/ui/login',
        {username: $('#username').value, password: $('#password').value});
      location.assign(target);
    } catch (e) {
      $('#login-error').textContent = e.status === 401 ? 'Wrong user name or password.' : e.message;
    }
  });
});
