// The sign-in page (accounts mode): send the name and password, then go where the person was.

import { request } from "./api.js";

/** Sign in with the form's fields; show the server's answer when it refuses. */
async function signIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const error = document.getElementById("signin-error");
  const submit = document.getElementById("signin-submit");
  error.textContent = "";
  submit.disabled = true;
  try {
    await request("POST", "/login", {
      username: form.elements.username.value,
      password: form.elements.password.value,
    });
    window.location.assign(document.body.dataset.nextUrl || document.body.dataset.indexUrl);
  } catch (failure) {
    error.textContent = failure.message;
    form.elements.password.select();
  } finally {
    submit.disabled = false;
  }
}

document.getElementById("signin-form").addEventListener("submit", signIn);
