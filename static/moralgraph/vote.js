// Keys 1, 2, 3 pick an answer on the vote page (never while typing a reason).
document.addEventListener("keydown", (event) => {
  if (event.target.closest("input[type=text], textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
  const radio = document.querySelector(`#vote-form input[data-key="${event.key}"]`);
  if (radio) { radio.checked = true; radio.focus(); }
});
