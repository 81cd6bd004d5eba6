// Every page: focus goes to the first field with an error, and an htmx request that finds the session gone (a 401
// or a CSRF refusal marked X-Concord-Signin, see accounts.middleware) opens a sign-in dialog over the page instead
// of swapping a login page into it; after signing in, the request is sent again, with what the form still holds.
(function () {
  "use strict";

  const CSRF_COOKIE = "csrftoken";
  let pending = null; // the request to send again once signed in

  // --- focus on the first error -----------------------------------------------------------------------------------

  function focusFirstError(root) {
    const invalid = root.querySelector?.("[aria-invalid=true]");
    if (!invalid) return false;
    const target = invalid.matches("fieldset:not([tabindex])") ? invalid.querySelector("input, select, textarea") : invalid;
    target?.focus();
    return true;
  }
  window.concordFocusFirstError = focusFirstError;

  // --- signing in again -------------------------------------------------------------------------------------------

  function cookie(name) {
    const match = document.cookie.split("; ").find((entry) => entry.startsWith(name + "="));
    return match ? decodeURIComponent(match.slice(name.length + 1)) : "";
  }

  // The page's tokens are the old session's: after signing in, every form and htmx header gets the new one.
  function tokenRenew(token) {
    const headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    headers["X-CSRFToken"] = token;
    document.body.setAttribute("hx-headers", JSON.stringify(headers));
    document.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach((input) => { input.value = token; });
  }

  async function signIn(dialog, form) {
    const url = dialog.dataset.loginUrl;
    const error = form.querySelector("[data-signin-error]");
    error.hidden = true;
    // Fetching the form sets a CSRF cookie when the browser has none (all cookies cleared).
    await fetch(url, { credentials: "same-origin", redirect: "manual" });
    const body = new URLSearchParams(new FormData(form));
    body.set("csrfmiddlewaretoken", cookie(CSRF_COOKIE));
    const response = await fetch(url, { method: "POST", body, credentials: "same-origin", redirect: "manual" });
    if (response.type !== "opaqueredirect") { // a sign-in that works answers with a redirect
      error.textContent = response.status === 200 ? "That username and password did not match. Try again."
        : "Signing in is refused for now (too many tries?). Wait a while, then try again.";
      error.hidden = false;
      form.elements.password.select();
      return;
    }
    if (form.elements.username.value.trim() !== dialog.dataset.username) return location.reload(); // another user
    tokenRenew(cookie(CSRF_COOKIE));
    form.elements.password.value = "";
    dialog.close();
    const retry = pending;
    pending = null;
    if (!retry) return;
    if (retry.elt.tagName === "FORM" && document.contains(retry.elt)) retry.elt.requestSubmit();
    else htmx.ajax(retry.verb, retry.path, { source: retry.elt });
  }

  document.addEventListener("htmx:beforeSwap", (event) => {
    const template = document.getElementById("signin-template");
    if (!template || !event.detail.xhr.getResponseHeader("X-Concord-Signin")) return;
    if (!document.getElementById("signin-dialog")) document.body.append(template.content.cloneNode(true));
    const dialog = document.getElementById("signin-dialog");
    event.detail.shouldSwap = false;
    event.detail.isError = false;
    const config = event.detail.requestConfig;
    // What the person sent wins over a refused poll (a progress bar's GET) that came back meanwhile.
    if (!pending || config.verb !== "get") pending = { elt: config.elt, verb: config.verb, path: config.path };
    if (!dialog.open) dialog.showModal();
    dialog.querySelector("input[name=password]").focus();
  });

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-signin]");
    if (!form) return;
    event.preventDefault();
    signIn(form.closest("dialog"), form);
  });

  htmx.onLoad((root) => { focusFirstError(root); });
})();
