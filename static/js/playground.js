// Playground and arena: Ctrl+Enter sends, the message box empties after a send, Esc stops the replies running.
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.matches("form[data-chat] textarea")) {
    event.preventDefault();
    event.target.form.requestSubmit();
  } else if (event.key === "Escape") {
    document.querySelectorAll(".reply-controls button.stop").forEach((button) => button.click());
  }
});
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt;
  if (form.matches && form.matches("form[data-chat]") && event.detail.successful) {
    form.querySelector("textarea[name=prompt]").value = "";
  }
});
