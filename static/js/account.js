// The header's account menu (accounts mode): sign out, then show the sign-in page.

import { request } from "./api.js";

/** Sign out and leave for the sign-in page. */
async function signOut() {
  try {
    await request("POST", "/logout");
  } finally {
    window.location.assign(document.body.dataset.indexUrl);
  }
}

const button = document.getElementById("sign-out");
if (button) button.addEventListener("click", signOut);
